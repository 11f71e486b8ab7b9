//! A small standard tokenizer.json (trained by tokenizer_reference.py) loaded as is, and its
//! vocabulary + merges rebuilt as GGUF metadata under each supported `tokenizer.ggml.pre`,
//! against the ids Python's `tokenizers` gives for the same pipelines (tiny_ids.json).

mod common;

use labelcast_text::{HfText, ModelText, Tokenizer, TokenizerData};
use serde_json::Value;

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

fn tiny_json() -> Vec<u8> {
    std::fs::read(common::reference("tiny_tokenizer.json")).unwrap()
}

#[test]
fn tokenizer_json_loads_and_matches_python() {
    let t = Tokenizer::from_json_bytes(&tiny_json()).unwrap();
    let r = common::reference_json("tiny_ids.json");
    assert_eq!(t.vocab_size(), r["vocab_size"].as_u64().unwrap() as usize);
    for case in r["cases"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        assert_eq!(t.encode(text).unwrap(), ids(&case["ids"]), "{text:?}");
    }
    for (token, id) in r["specials"].as_object().unwrap() {
        assert_eq!(t.token_to_id(token), Some(id.as_u64().unwrap() as u32));
        assert!(t.is_special(id.as_u64().unwrap() as u32));
    }
}

/// The tiny vocabulary as a GGUF would carry it.
fn as_gguf(pre: &str) -> TokenizerData {
    let json: Value = serde_json::from_slice(&tiny_json()).unwrap();
    let vocab = json["model"]["vocab"].as_object().unwrap();
    let mut tokens = vec![String::new(); vocab.len()];
    for (token, id) in vocab {
        tokens[id.as_u64().unwrap() as usize] = token.clone();
    }
    let merges = json["model"]["merges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| match m {
            Value::String(s) => s.clone(),
            Value::Array(pair) => format!("{} {}", pair[0].as_str().unwrap(), pair[1].as_str().unwrap()),
            other => panic!("{other}"),
        })
        .collect();
    // The three specials come first (ids 0..3), as the trainer placed them.
    let token_types = (0..tokens.len()).map(|id| if id < 3 { 3 } else { 1 }).collect();
    TokenizerData {
        model: "gpt2".into(),
        pre: Some(pre.into()),
        tokens,
        merges,
        token_types,
        eos_token_id: Some(2),
        bos_token_id: Some(1),
        ..Default::default()
    }
}

#[test]
fn every_supported_pre_type_matches_its_python_pipeline() {
    let r = common::reference_json("tiny_ids.json");
    let strings: Vec<&str> = r["cases"].as_array().unwrap().iter().map(|c| c["text"].as_str().unwrap()).collect();
    for (pre, expected) in r["by_pre"].as_object().unwrap() {
        let t = Tokenizer::from_gguf(&as_gguf(pre)).unwrap();
        let mut failures = Vec::new();
        for (text, want) in strings.iter().zip(expected.as_array().unwrap()) {
            let got = t.encode(text).unwrap();
            if got != ids(want) {
                failures.push(format!("{text:?}: got {got:?}, want {:?}", ids(want)));
            }
        }
        assert!(failures.is_empty(), "pre {pre}:\n{}", failures.join("\n"));
    }
}

#[test]
fn hf_files_give_template_and_special_ids() {
    let config = br#"{"bos_token": null, "eos_token": "<|im_end|>",
        "chat_template": "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"}"#;
    let m = ModelText::from_hf(HfText { tokenizer_config_json: Some(config), ..HfText::new(&tiny_json()) }).unwrap();
    let prompt = m.render_prompt(None, "Hi").unwrap();
    assert_eq!(prompt, "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    let ids = m.tokenizer.encode(&prompt).unwrap();
    assert_eq!(ids[0], 1);
    assert_eq!(ids.iter().filter(|&&i| i == 2).count(), 1);
    assert_eq!((m.special.bos, m.special.eos, m.special.eot), (None, Some(2), Some(2)));
    assert_eq!(m.special.stop_ids, [0, 2]);
    assert_eq!(m.special.exclusion_ids[..2], [0, 2]);
    assert_eq!(m.special.newline, m.tokenizer.encode("\n").unwrap());
    assert!(ModelText::from_hf(HfText::new(&tiny_json())).unwrap().chat.is_none());
}
