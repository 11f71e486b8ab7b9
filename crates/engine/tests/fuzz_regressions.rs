//! Replays what fuzzing found (tests/fuzz-regressions/<target>/, one file per finding) and the
//! seed corpora (fuzz/corpus/<target>/) through the same calls as the fuzz targets in fuzz/:
//! each must end in Ok or an error, never a panic. The campaign itself: scripts/fuzz.sh.
//! The table and labels targets are replayed in crates/web/tests/fuzz_regressions.rs.

use std::path::{Path, PathBuf};

use labelcast_engine::model::load::parse_gguf;
use labelcast_modelfile::ModelFile;
use labelcast_text::{ChatTemplate, HfText, Message, ModelText, TemplateTokens};

fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut found = Vec::new();
    for dir in [root.join("tests/fuzz-regressions").join(target), root.join("fuzz/corpus").join(target)] {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            found.push((e.path(), std::fs::read(e.path()).unwrap()));
        }
    }
    assert!(!found.is_empty(), "no inputs for {target}");
    found.sort();
    found
}

/// As fuzz/fuzz_targets/chat_template.rs.
#[test]
fn chat_template_inputs() {
    for (path, data) in inputs("chat_template") {
        let Ok(source) = std::str::from_utf8(&data) else { continue };
        let tokens =
            TemplateTokens { bos_token: Some("<s>".into()), eos_token: Some("</s>".into()), ..Default::default() };
        if let Ok(t) = ChatTemplate::new(source, tokens) {
            let _ = t.render(&[Message::new("system", "Be brief."), Message::new("user", "What is 2+2?")], true);
        }
        eprintln!("ok: {}", path.display());
    }
}

/// As fuzz/fuzz_targets/tokenizer_json.rs.
#[test]
fn tokenizer_json_inputs() {
    for (path, data) in inputs("tokenizer_json") {
        let mut parts = data.splitn(3, |&b| b == 0xFF);
        let tokenizer_json = parts.next().unwrap_or_default();
        let files = HfText { tokenizer_json, tokenizer_config_json: parts.next(), chat_template: parts.next() };
        if let Ok(text) = ModelText::from_hf(files) {
            let _ = text.tokenizer.encode_example("What is 2+2?", "4");
            let _ = text.render_prompt(Some("Answer briefly."), "What is 2+2?");
        }
        eprintln!("ok: {}", path.display());
    }
}

/// As fuzz/fuzz_targets/gguf.rs.
#[test]
fn gguf_inputs() {
    for (path, data) in inputs("gguf") {
        let _ = parse_gguf("fuzz.gguf", data);
        eprintln!("ok: {}", path.display());
    }
}

/// As fuzz/fuzz_targets/safetensors.rs: config.json, a 0xFF byte, the shard.
#[test]
fn safetensors_inputs() {
    for (path, data) in inputs("safetensors") {
        let (config, shard) = match data.iter().position(|&b| b == 0xFF) {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (&data[..], &[][..]),
        };
        let Ok(config) = std::str::from_utf8(config) else { continue };
        let _ = ModelFile::from_safetensors("fuzz", [("model.safetensors", shard.to_vec())], config);
        eprintln!("ok: {}", path.display());
    }
}
