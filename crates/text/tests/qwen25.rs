//! Qwen2.5's real tokenizer (151,643 byte-level BPE tokens, 22 added tokens, its pre-tokenizer
//! regex and NFC normalizer) against the ids Hugging Face `tokenizers` gives
//! (tests/reference/text/qwen25_ids.json, written by qwen25_reference.py and checked there
//! against transformers' Qwen2Tokenizer), through both of labelcast-text's loading paths:
//! - a model folder's tokenizer.json ([`ModelText::from_hf`], with tokenizer_config.json and
//!   chat_template.jinja), the tokenizer.json reassembled from tests/fixtures/qwen2.5/
//!   (tokenizer_skeleton.json + the vocabulary rebuilt from merges.txt + merges.txt);
//! - GGUF metadata with `tokenizer.ggml.pre` = "qwen2" ([`ModelText::from_gguf`]), laid out as
//!   llama.cpp's converter writes a Qwen2.5 GGUF.

mod common;

use labelcast_text::gguf::token_type;
use labelcast_text::special::{Exclusion, PaperList};
use labelcast_text::{HfText, ModelText, TokenizerData};
use serde_json::Value;

fn fixture(name: &str) -> Vec<u8> {
    let path = common::repo_root().join("tests/fixtures/qwen2.5").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// merges.txt's merges, "left right", best first (its "#version" line dropped).
fn merges() -> Vec<String> {
    let text = String::from_utf8(fixture("merges.txt")).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("#version"));
    lines.filter(|l| !l.is_empty()).map(str::to_string).collect()
}

/// Qwen2.5's vocabulary by id: the 256 byte tokens, then id 256 + k = merge k joined (checked
/// against the original vocab.json by qwen25_reference.py, and here by its checksum).
fn vocabulary(merges: &[String]) -> Vec<String> {
    let mut tokens = common::byte_alphabet();
    tokens.extend(merges.iter().map(|m| m.replacen(' ', "", 1)));
    tokens
}

struct Qwen {
    merges: Vec<String>,
    tokens: Vec<String>,
    reference: Value,
}

fn qwen() -> Qwen {
    let merges = merges();
    let tokens = vocabulary(&merges);
    let reference = common::reference_json("qwen25_ids.json");
    assert_eq!(merges.len() as u64, reference["n_merges"].as_u64().unwrap());
    assert_eq!(tokens.len(), 151_643);
    assert_eq!(
        common::fnv1a64(&tokens),
        reference["vocab_fnv1a64"].as_str().unwrap(),
        "vocabulary rebuilt differently"
    );
    Qwen { merges, tokens, reference }
}

impl Qwen {
    /// The model folder: tokenizer.json (skeleton + vocab + merges), tokenizer_config.json,
    /// chat_template.jinja.
    fn hf(&self) -> ModelText {
        let mut json: Value = serde_json::from_slice(&fixture("tokenizer_skeleton.json")).unwrap();
        let vocab: serde_json::Map<String, Value> =
            self.tokens.iter().enumerate().map(|(i, t)| (t.clone(), Value::from(i))).collect();
        let model = json["model"].as_object_mut().unwrap();
        model.insert("vocab".into(), Value::Object(vocab));
        model.insert("merges".into(), Value::from(self.merges.clone()));
        let tokenizer_json = serde_json::to_vec(&json).unwrap();
        let config = fixture("tokenizer_config.json");
        let jinja = fixture("chat_template.jinja");
        ModelText::from_hf(HfText {
            tokenizer_json: &tokenizer_json,
            tokenizer_config_json: Some(&config),
            chat_template: Some(&jinja),
        })
        .unwrap()
    }

    /// The GGUF metadata llama.cpp's converter writes for Qwen2.5-0.5B-Instruct: the vocabulary,
    /// the added tokens at their ids (CONTROL when special or spelled `<|...|>`, else
    /// USER_DEFINED), "[PAD<id>]" UNUSED tokens up to config.json's vocab_size 151,936, the merges,
    /// pre "qwen2", bos = padding = <|endoftext|> (config.json's bos_token_id), eos = <|im_end|>.
    fn gguf(&self) -> TokenizerData {
        let mut tokens = self.tokens.clone();
        let mut types = vec![token_type::NORMAL; tokens.len()];
        for a in self.reference["added_tokens"].as_array().unwrap() {
            let content = a["content"].as_str().unwrap();
            assert_eq!(a["id"].as_u64().unwrap() as usize, tokens.len());
            let looks_special = content.starts_with("<|") && content.ends_with("|>");
            tokens.push(content.to_string());
            types.push(if a["special"].as_bool().unwrap() || looks_special {
                token_type::CONTROL
            } else {
                token_type::USER_DEFINED
            });
        }
        while tokens.len() < 151_936 {
            tokens.push(format!("[PAD{}]", tokens.len()));
            types.push(token_type::UNUSED);
        }
        TokenizerData {
            model: "gpt2".into(),
            pre: Some("qwen2".into()),
            tokens,
            merges: self.merges.clone(),
            token_types: types,
            bos_token_id: Some(151_643),
            eos_token_id: Some(151_645),
            padding_token_id: Some(151_643),
            add_bos_token: Some(false),
            chat_template: Some(String::from_utf8(fixture("chat_template.jinja")).unwrap()),
            ..Default::default()
        }
    }
}

#[test]
fn tokenizer_json_gives_hugging_faces_ids() {
    let q = qwen();
    let m = q.hf();
    assert_eq!(m.tokenizer.vocab_size(), q.reference["vocab_size"].as_u64().unwrap() as usize);
    assert_eq!(m.tokenizer.vocab_size(), 151_665);
    for a in q.reference["added_tokens"].as_array().unwrap() {
        let id = a["id"].as_u64().unwrap() as u32;
        assert_eq!(m.tokenizer.token_to_id(a["content"].as_str().unwrap()), Some(id));
        assert_eq!(m.tokenizer.is_special(id), a["special"].as_bool().unwrap(), "{a}");
    }
    let n = common::compare(&m, &q.reference, "tokenizer.json");
    assert!(n > 800, "{n} ids");
}

#[test]
fn gguf_metadata_with_pre_qwen2_gives_the_same_ids() {
    let q = qwen();
    let data = q.gguf();
    let m = ModelText::from_gguf(&data).unwrap();
    // The [PAD] rows are in the vocabulary too (they are the model's embedding rows).
    assert_eq!(m.tokenizer.vocab_size(), 151_936);
    assert_eq!(m.tokenizer.token_to_id("<tool_call>"), Some(151_657));
    // The one deliberate difference from tokenizer.json: llama.cpp's converter makes every
    // `<|...|>` token CONTROL, so <|fim_prefix|> & co. (special: false in tokenizer.json) are
    // special here and skipped by decode_skip_special. Encoding is the same (every added
    // token written in the text is that token either way), as compare() shows.
    assert!(m.tokenizer.is_special(151_659) && !m.tokenizer.is_special(151_657));
    let n = common::compare(&m, &q.reference, "GGUF");
    assert!(n > 800, "{n} ids");
}

/// METHOD.md 1b lists Qwen2.x's exclusion ids as [151643, 151645, 198].
#[test]
fn special_ids_are_qwen25s_and_the_papers() {
    let q = qwen();
    let want: Vec<u32> = common::ids(&q.reference["exclusion_ids"]);
    assert_eq!(want, [198, 151_643, 151_645]);
    assert_eq!(common::ids(&q.reference["newline_id"]), [198]);
    for (path, m, bos) in
        [("tokenizer.json", q.hf(), None), ("GGUF", ModelText::from_gguf(&q.gguf()).unwrap(), Some(151_643))]
    {
        let s = &m.special;
        assert_eq!(s.exclusion, Exclusion::Paper(PaperList::Qwen2), "{path}");
        assert_eq!(s.exclusion_ids, want, "{path}");
        assert_eq!((s.bos, s.eos, s.eot), (bos, Some(151_645), Some(151_645)), "{path}");
        assert_eq!(s.end_of_text, [151_643], "{path}");
        assert_eq!(s.stop_ids, [151_643, 151_645], "{path}");
        assert_eq!(s.newline, [198], "{path}");
        // Qwen's BPE learned "</s>" from text (HTML/XML); it is no end-of-text token here
        // (it was, and stopped generation, until special.rs took only added tokens).
        assert_eq!(m.tokenizer.token_to_id("</s>"), Some(128_247), "{path}");
        assert!(!s.is_stop(128_247), "{path}");
    }
}
