//! Mistral v0.3's SentencePiece vocabulary (32,768 pieces, as llama.cpp's converter stores it in
//! a GGUF: pieces, scores, types) rebuilt by labelcast-text, against the ids SentencePiece itself
//! gives (tests/reference/text/mistral_v3_spm.json, written by sentencepiece_reference.py from
//! mistral-common's v3 model file).

mod common;

use labelcast_text::gguf::token_type;
use labelcast_text::special::PaperList;
use labelcast_text::{Tokenizer, TokenizerData};
use serde_json::Value;

fn mistral_v3() -> (TokenizerData, Value) {
    let r = common::reference_json("mistral_v3_spm.json");
    let strs = |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let id = |k: &str| r[k].as_u64().map(|v| v as u32);
    let data = TokenizerData {
        model: "llama".into(),
        tokens: strs("tokens"),
        scores: r["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect(),
        token_types: r["token_types"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as i32).collect(),
        bos_token_id: id("bos_token_id"),
        eos_token_id: id("eos_token_id"),
        unknown_token_id: id("unknown_token_id"),
        add_bos_token: Some(true),
        ..Default::default()
    };
    (data, r)
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn plain_texts_get_sentencepieces_ids() {
    let (data, r) = mistral_v3();
    let t = Tokenizer::from_gguf(&data).unwrap();
    let cases = r["cases"].as_array().unwrap();
    assert!(cases.len() >= 20);
    let space = t.token_to_id("▁").unwrap();
    for case in cases {
        let text = case["text"].as_str().unwrap();
        let mut want = ids(&case["ids"]);
        // The one difference, Hugging Face's and on purpose: SentencePiece puts its dummy "▁"
        // before a text that starts with a space too ("▁▁leading"); a Metaspace with prepend
        // "first", as transformers converts Llama and Mistral tokenizers, adds none before an
        // existing one. (Rendered chat prompts start with "<s>", so this is a raw prompt's case.)
        if text.starts_with(' ') {
            assert_eq!(want.remove(0), space, "{text:?}");
        }
        // Also Hugging Face's: a control token written in the text is that token (chat templates
        // rely on it); SentencePiece never makes control tokens from text.
        if let Some(after) = text.strip_prefix("[INST]") {
            let rest = t.encode(after).unwrap();
            assert_eq!(t.encode(text).unwrap(), [&[t.token_to_id("[INST]").unwrap()][..], &rest[..]].concat());
            continue;
        }
        assert_eq!(t.encode(text).unwrap(), want, "{text:?}");
        // Decoding gives the text back (the dummy prefix's space is stripped).
        assert_eq!(t.decode(&want).unwrap(), text.strip_prefix(' ').unwrap_or(text), "{text:?}");
    }
    assert_eq!(t.encode_with_special_tokens("Hello world").unwrap()[0], 1, "BOS first");
    // A Mistral v0.3 GGUF gets the paper's exclusion ids for its family (METHOD.md 1b).
    assert_eq!(PaperList::of(&t), Some(PaperList::MistralV03));
}

#[test]
fn control_tokens_in_a_chat_prompt_are_single_ids_and_get_no_second_prefix() {
    let (data, r) = mistral_v3();
    let t = Tokenizer::from_gguf(&data).unwrap();
    let inst = t.token_to_id("[INST]").unwrap();
    let end_inst = t.token_to_id("[/INST]").unwrap();
    assert_eq!(data.token_type(inst as usize), token_type::CONTROL);
    assert!(t.is_special(inst));
    // "[INST] What is the capital of France?[/INST]" as v0.3's template writes it: the user text
    // after "[INST] " is SentencePiece's encoding of that text alone (one "▁", from the space),
    // as mistral-common encodes a user turn.
    let question =
        r["cases"].as_array().unwrap().iter().find(|c| c["text"] == "What is the capital of France?").unwrap();
    let mut want = vec![1, inst];
    want.extend(ids(&question["ids"]));
    want.push(end_inst);
    assert_eq!(t.encode("<s>[INST] What is the capital of France?[/INST]").unwrap(), want);
}
