//! tokenizer.json (with tokenizer_config.json and chat_template.jinja, split at 0xFF bytes), as
//! a safetensors model's text side is built; a tokenizer that builds encodes a fixed prompt.
#![no_main]
use labelcast_text::{HfText, ModelText};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let tokenizer_json = parts.next().unwrap_or_default();
    let tokenizer_config_json = parts.next();
    let chat_template = parts.next();
    let files = HfText { tokenizer_json, tokenizer_config_json, chat_template };
    if let Ok(text) = ModelText::from_hf(files) {
        let _ = text.tokenizer.encode_example("What is 2+2?", "4");
        let _ = text.render_prompt(Some("Answer briefly."), "What is 2+2?");
    }
});
