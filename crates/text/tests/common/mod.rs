//! Shared by the integration tests: reference files and the real SmolLM2 GGUF.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use labelcast_text::{MetaValue, TokenizerData};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A file under tests/reference/text/.
pub fn reference(name: &str) -> PathBuf {
    repo_root().join("tests/reference/text").join(name)
}

pub fn reference_json(name: &str) -> serde_json::Value {
    let path = reference(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).unwrap()
}

/// The SmolLM2 GGUF: $LABELCAST_SMOLLM2_GGUF, else models/SmolLM2-135M-Instruct.Q4_1.gguf.
/// Missing is a failure, not a skip: these tests are the proof the ids match.
pub fn smollm2_gguf() -> PathBuf {
    let path = std::env::var_os("LABELCAST_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    assert!(
        path.is_file(),
        "the SmolLM2 GGUF is missing at {}: run scripts/fetch-model.sh (or set LABELCAST_SMOLLM2_GGUF)",
        path.display()
    );
    path
}

/// Reads a GGUF's tokenizer metadata with candle's reader (the engine uses its own parser).
pub fn tokenizer_data(path: &Path) -> TokenizerData {
    let mut file = std::fs::File::open(path).unwrap();
    let content = gguf_file::Content::read(&mut file).unwrap();
    TokenizerData::from_lookup(|key| content.metadata.get(key).map(meta_value)).unwrap()
}

fn meta_value(v: &gguf_file::Value) -> MetaValue {
    use gguf_file::Value as V;
    let int = |v: &V| -> Option<i64> {
        Some(match v {
            V::U8(x) => *x as i64,
            V::I8(x) => *x as i64,
            V::U16(x) => *x as i64,
            V::I16(x) => *x as i64,
            V::U32(x) => *x as i64,
            V::I32(x) => *x as i64,
            V::U64(x) => *x as i64,
            V::I64(x) => *x,
            _ => return None,
        })
    };
    match v {
        V::String(s) => MetaValue::Str(s.clone()),
        V::Bool(b) => MetaValue::Bool(*b),
        V::F32(_) | V::F64(_) => MetaValue::Floats(vec![]),
        V::Array(items) => match items.first() {
            Some(V::String(_)) => MetaValue::Strs(
                items.iter().map(|i| if let V::String(s) = i { s.clone() } else { panic!("mixed array") }).collect(),
            ),
            Some(V::F32(_) | V::F64(_)) => MetaValue::Floats(vec![]),
            _ => MetaValue::Ints(items.iter().map(|i| int(i).expect("integer array")).collect()),
        },
        other => MetaValue::Int(int(other).unwrap()),
    }
}
