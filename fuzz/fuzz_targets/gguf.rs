//! GGUF files: the header, metadata and tensor table, then the model layout and the tokenizer
//! and chat template built from the metadata (what loading a dropped .gguf does before weights).
#![no_main]
use labelcast_engine::model::load::parse_gguf;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_gguf("fuzz.gguf", data.to_vec());
});
