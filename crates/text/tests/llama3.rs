//! Llama 3.x's real tokenizer (128,000 byte-level BPE tokens, 256 special tokens, its split regex
//! with digits in runs of up to three, BPE with `ignore_merges`) against the ids Meta's own
//! tiktoken tokenizer gives (tests/reference/text/llama3_ids.json, written by
//! llama3_reference.py, which checks Hugging Face `tokenizers` on the converted tokenizer.json
//! against them), through both of labelcast-text's loading paths:
//! - a model folder's tokenizer.json ([`ModelText::from_hf`]) in the hub's Llama 3.1 layout;
//! - GGUF metadata with `tokenizer.ggml.pre` = "llama-bpe" ([`ModelText::from_gguf`]), laid out
//!   as llama.cpp's converter writes a Llama 3.1 GGUF.
//!
//! The ranks come from Meta's tokenizer.model, and the chat prompts are rendered with
//! Llama-3.1-8B-Instruct's own chat template (both under the Llama 3 Community License, so
//! fetched, not committed: scripts/fetch-test-data.sh). The vocabulary and the merges are
//! derived from the ranks here as transformers' `TikTokenConverter` derives them, and checked
//! against the reference's checksums.

mod common;

use std::collections::HashMap;

use labelcast_text::gguf::token_type;
use labelcast_text::special::{Exclusion, PaperList};
use labelcast_text::{HfText, ModelText, TokenizerData};
use serde_json::{json, Value};

const BOS: u32 = 128_000;
const EOT: u32 = 128_009;

/// Standard base64 with padding, as tiktoken files write each token's bytes.
fn base64(text: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {text:?}"),
    };
    let digits: Vec<u8> = text.bytes().filter(|&c| c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let bits = chunk.iter().enumerate().fold(0u32, |acc, (i, &d)| acc | (d as u32) << (18 - 6 * i));
        out.extend(&bits.to_be_bytes()[1..chunk.len()]);
    }
    out
}

/// The ranks: line r of tokenizer.model is "base64(bytes) r".
fn ranks() -> Vec<Vec<u8>> {
    let path = common::llama3_tokenizer_model();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            let (token, rank) = line.split_once(' ').unwrap_or_else(|| panic!("line {}: {line:?}", i + 1));
            assert_eq!(rank.parse::<usize>().unwrap(), i, "ranks are in order");
            base64(token)
        })
        .collect()
}

/// `TikTokenConverter.extract_vocab_merges_from_model`: every split of a token into two tokens
/// is a merge; merges are ordered by the rank of the token they make, then by the ranks of the
/// left and right parts.
fn merges(ranks: &[Vec<u8>], spell: impl Fn(&[u8]) -> String) -> Vec<String> {
    let rank: HashMap<&[u8], usize> = ranks.iter().enumerate().map(|(r, t)| (t.as_slice(), r)).collect();
    let mut out = Vec::new();
    for token in ranks {
        let mut local: Vec<(usize, usize, usize)> = (1..token.len())
            .filter_map(|i| Some((rank.get(&token[..i]).copied()?, rank.get(&token[i..]).copied()?, i)))
            .collect();
        local.sort_unstable();
        out.extend(local.into_iter().map(|(_, _, i)| format!("{} {}", spell(&token[..i]), spell(&token[i..]))));
    }
    out
}

struct Llama3 {
    tokens: Vec<String>,
    merges: Vec<String>,
    reference: Value,
}

fn llama3() -> Llama3 {
    let reference = common::reference_json("llama3_ids.json");
    let ranks = ranks();
    assert_eq!(ranks.len(), 128_000);
    let by_byte = common::byte_spellings();
    let spell = |bytes: &[u8]| bytes.iter().map(|&b| by_byte[b as usize].as_str()).collect::<String>();
    let tokens: Vec<String> = ranks.iter().map(|t| spell(t)).collect();
    let merges = merges(&ranks, spell);
    assert_eq!(common::fnv1a64(&tokens), reference["vocab_fnv1a64"].as_str().unwrap(), "vocabulary");
    assert_eq!(merges.len() as u64, reference["n_merges"].as_u64().unwrap());
    assert_eq!(common::fnv1a64(&merges), reference["merges_fnv1a64"].as_str().unwrap(), "merges");
    Llama3 { tokens, merges, reference }
}

impl Llama3 {
    fn specials(&self) -> Vec<String> {
        let s: Vec<String> =
            self.reference["special_tokens"].as_array().unwrap().iter().map(|t| t.as_str().unwrap().into()).collect();
        assert_eq!(s.len(), 256);
        s
    }

    /// tokenizer.json as the hub's Llama 3.1 files have it (no normalizer; Split + ByteLevel
    /// without regex; BPE with ignore_merges; a post-processor that adds <|begin_of_text|>) and
    /// Llama-3.1-8B-Instruct's tokenizer_config.json spellings of BOS and EOS, and its chat template.
    fn hf(&self) -> ModelText {
        let added: Vec<Value> = self
            .specials()
            .iter()
            .enumerate()
            .map(|(i, t)| {
                json!({"id": BOS as usize + i, "content": t, "single_word": false, "lstrip": false,
                       "rstrip": false, "normalized": false, "special": true})
            })
            .collect();
        let vocab: serde_json::Map<String, Value> =
            self.tokens.iter().enumerate().map(|(i, t)| (t.clone(), Value::from(i))).collect();
        let byte_level =
            json!({"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": false});
        let tokenizer = json!({
            "version": "1.0", "truncation": null, "padding": null, "added_tokens": added, "normalizer": null,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": self.reference["pattern"]}, "behavior": "Isolated", "invert": false},
                byte_level]},
            "post_processor": {"type": "Sequence", "processors": [
                {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": false, "use_regex": true},
                {"type": "TemplateProcessing",
                 "single": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
                 "pair": [{"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                          {"SpecialToken": {"id": "<|begin_of_text|>", "type_id": 1}}, {"Sequence": {"id": "B", "type_id": 1}}],
                 "special_tokens": {"<|begin_of_text|>": {"id": "<|begin_of_text|>", "ids": [BOS], "tokens": ["<|begin_of_text|>"]}}}]},
            "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
            "model": {"type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
                      "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false, "ignore_merges": true,
                      "vocab": vocab, "merges": self.merges},
        });
        let tokenizer_json = serde_json::to_vec(&tokenizer).unwrap();
        let config = br#"{"bos_token": "<|begin_of_text|>", "eos_token": "<|eot_id|>"}"#;
        let jinja = common::llama3_chat_template();
        ModelText::from_hf(HfText {
            tokenizer_json: &tokenizer_json,
            tokenizer_config_json: Some(config),
            chat_template: Some(&jinja),
        })
        .unwrap()
    }

    /// The GGUF metadata llama.cpp's converter writes for Llama-3.1-8B-Instruct: the 128,256
    /// tokens (the special ones CONTROL), the merges, pre "llama-bpe", bos <|begin_of_text|>,
    /// eos <|eot_id|> (tokenizer_config.json's eos_token), the chat template.
    fn gguf(&self) -> TokenizerData {
        let mut tokens = self.tokens.clone();
        let mut types = vec![token_type::NORMAL; tokens.len()];
        for t in self.specials() {
            tokens.push(t);
            types.push(token_type::CONTROL);
        }
        TokenizerData {
            model: "gpt2".into(),
            pre: Some("llama-bpe".into()),
            tokens,
            merges: self.merges.clone(),
            token_types: types,
            bos_token_id: Some(BOS),
            eos_token_id: Some(EOT),
            chat_template: Some(String::from_utf8(common::llama3_chat_template()).unwrap()),
            ..Default::default()
        }
    }
}

#[test]
fn tokenizer_json_gives_metas_ids() {
    let l = llama3();
    let m = l.hf();
    assert_eq!(m.tokenizer.vocab_size(), l.reference["vocab_size"].as_u64().unwrap() as usize);
    for (i, t) in l.specials().iter().enumerate() {
        let id = BOS + i as u32;
        assert_eq!(m.tokenizer.token_to_id(t), Some(id));
        assert!(m.tokenizer.is_special(id), "{t}");
    }
    let n = common::compare(&m, &l.reference, "tokenizer.json");
    assert!(n > 1200, "{n} ids");
    // add_special_tokens=True: the post-processor's <|begin_of_text|>, once.
    let hello = &l.reference["cases"][1];
    assert_eq!(hello["text"], "Hello world");
    let want: Vec<u32> = [BOS].into_iter().chain(common::ids(&hello["ids"])).collect();
    assert_eq!(m.tokenizer.encode_with_special_tokens("Hello world").unwrap(), want);
}

#[test]
fn gguf_metadata_with_pre_llama_bpe_gives_the_same_ids() {
    let l = llama3();
    let m = ModelText::from_gguf(&l.gguf()).unwrap();
    assert_eq!(m.tokenizer.vocab_size(), 128_256);
    assert!(m.tokenizer.is_special(EOT) && !m.tokenizer.is_special(271));
    let n = common::compare(&m, &l.reference, "GGUF");
    assert!(n > 1200, "{n} ids");
}

/// METHOD.md 1b lists Llama 3.x's exclusion ids as [271 ("\n\n"), 128009 (<|eot_id|>)]: with the
/// real vocabulary both paths recognise the family and take exactly that list.
#[test]
fn special_ids_are_llama3s_and_the_papers() {
    let l = llama3();
    let want = common::ids(&l.reference["exclusion_ids"]);
    assert_eq!(want, [271, EOT]);
    for (path, m) in [("tokenizer.json", l.hf()), ("GGUF", ModelText::from_gguf(&l.gguf()).unwrap())] {
        let s = &m.special;
        assert_eq!(s.exclusion, Exclusion::Paper(PaperList::Llama3), "{path}");
        assert_eq!(s.exclusion_ids, want, "{path}");
        assert_eq!(m.tokenizer.encode("\n\n").unwrap(), [271], "{path}");
        assert_eq!(m.tokenizer.encode("\n").unwrap(), common::ids(&l.reference["newline_id"]), "{path}");
        assert_eq!((s.bos, s.eos, s.eot), (Some(BOS), Some(EOT), Some(EOT)), "{path}");
        // Generation stops at <|end_of_text|>, <|eom_id|> and <|eot_id|>, as Meta's stop_tokens.
        assert_eq!(s.stop_ids, [128_001, 128_008, EOT], "{path}");
    }
}
