//! Shared by the integration tests: reference files and the real SmolLM2 GGUF.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use candle_core::quantized::gguf_file;
use labelcast_text::{MetaValue, ModelText, TokenizerData};
use serde_json::Value;

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

/// A file the tests read but the repository does not hold: $`env`, else `rel` under the
/// repository. Missing is a failure, not a skip: these tests are the proof the ids match.
fn fetched(env: &str, rel: &str, what: &str, script: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| repo_root().join(rel));
    assert!(path.is_file(), "{what} is missing at {}: run {script} (or set {env})", path.display());
    path
}

/// The SmolLM2 GGUF: $LABELCAST_SMOLLM2_GGUF, else models/SmolLM2-135M-Instruct.Q4_1.gguf.
pub fn smollm2_gguf() -> PathBuf {
    fetched(
        "LABELCAST_SMOLLM2_GGUF",
        "models/SmolLM2-135M-Instruct.Q4_1.gguf",
        "the SmolLM2 GGUF",
        "scripts/fetch-model.sh",
    )
}

/// Meta's Llama 3 tokenizer.model: $LABELCAST_LLAMA3_TOKENIZER, else
/// models/llama3/tokenizer.model (its licence keeps it out of the repository).
pub fn llama3_tokenizer_model() -> PathBuf {
    fetched(
        "LABELCAST_LLAMA3_TOKENIZER",
        "models/llama3/tokenizer.model",
        "Llama 3's tokenizer.model",
        "scripts/fetch-test-data.sh",
    )
}

/// Llama-3.1-8B-Instruct's chat template, fetched next to the tokenizer.model.
pub fn llama3_chat_template() -> Vec<u8> {
    let path = llama3_tokenizer_model().with_file_name("chat_template.jinja");
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}: run scripts/fetch-test-data.sh", path.display()))
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

pub fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

/// Every reference text (`cases`: ids and decoding), chat prompt (`chats`) and METHOD.md 1d
/// example (`examples`) of a reference file through `m`; returns the number of
/// ids compared. Failures are collected so one run shows every difference.
pub fn compare(m: &ModelText, r: &Value, path: &str) -> usize {
    let mut failures = Vec::new();
    let mut n = 0;
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 50, "{} cases", cases.len());
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let want = ids(&case["ids"]);
        n += want.len();
        let got = m.tokenizer.encode(text).unwrap();
        if got != want {
            failures.push(format!("{text:?}: got {got:?}, want {want:?}"));
        } else if m.tokenizer.decode(&got).unwrap() != case["decoded"].as_str().unwrap() {
            failures.push(format!("{text:?}: decodes to {:?}", m.tokenizer.decode(&got).unwrap()));
        }
    }
    for c in r["chats"].as_array().unwrap() {
        let prompt = c["prompt"].as_str().unwrap();
        let rendered = m.render_prompt(c["system"].as_str(), c["user"].as_str().unwrap()).unwrap();
        assert_eq!(rendered, prompt, "{path}: chat template rendering");
        let want = ids(&c["ids"]);
        n += want.len();
        let got = m.tokenizer.encode(prompt).unwrap();
        if got != want {
            failures.push(format!("chat {prompt:?}: got {got:?}, want {want:?}"));
        }
    }
    for e in r["examples"].as_array().unwrap() {
        let got = m.encode_example(e["prompt"].as_str().unwrap(), e["answer"].as_str().unwrap()).unwrap();
        n += got.ids.len();
        if got.ids != ids(&e["ids"]) || got.n_prompt != e["n_prompt"].as_u64().unwrap() as usize {
            failures.push(format!("example {:?}: got {:?} / {}", e["answer"], got.ids, got.n_prompt));
        }
    }
    assert!(failures.is_empty(), "{path}: {} differ:\n{}", failures.len(), failures.join("\n"));
    n
}

fn printable(b: u8) -> bool {
    matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// GPT-2's `bytes_to_unicode`, in its order: the printable bytes as themselves, then the others
/// as U+0100 on.
pub fn byte_alphabet() -> Vec<String> {
    let n_printable = (0..=255u8).filter(|&b| printable(b)).count();
    byte_order()
        .into_iter()
        .enumerate()
        .map(|(k, b)| {
            if printable(b) {
                char::from(b).to_string()
            } else {
                char::from_u32((256 + k - n_printable) as u32).unwrap().to_string()
            }
        })
        .collect()
}

/// The byte each character of [`byte_alphabet`] stands for.
fn byte_order() -> Vec<u8> {
    (0..=255u8).filter(|&b| printable(b)).chain((0..=255u8).filter(|&b| !printable(b))).collect()
}

/// Byte-level spelling indexed by byte value ('Ġ' for b' ', 'Ċ' for b'\n').
pub fn byte_spellings() -> Vec<String> {
    let mut by_byte = vec![String::new(); 256];
    for (b, c) in byte_order().into_iter().zip(byte_alphabet()) {
        by_byte[b as usize] = c;
    }
    assert_eq!((by_byte[b' ' as usize].as_str(), by_byte[b'\n' as usize].as_str()), ("Ġ", "Ċ"));
    by_byte
}

/// FNV-1a (64-bit) over each string's UTF-8 bytes followed by a 0 byte, in order (the reference
/// scripts' checksum of a vocabulary or merge list).
pub fn fnv1a64(tokens: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for t in tokens {
        for &b in t.as_bytes().iter().chain(&[0]) {
            h = (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
