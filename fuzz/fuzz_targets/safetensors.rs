//! A safetensors shard with config.json: the input is split at its first 0xFF byte into the
//! config text and the shard's bytes.
#![no_main]
use labelcast_modelfile::ModelFile;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (config, shard) = match data.iter().position(|&b| b == 0xFF) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let Ok(config) = std::str::from_utf8(config) else { return };
    let _ = ModelFile::from_safetensors("fuzz", [("model.safetensors", shard.to_vec())], config);
});
