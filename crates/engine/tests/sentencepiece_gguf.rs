//! A GGUF whose tokenizer is SentencePiece (`tokenizer.ggml.model` = "llama", as in
//! Mistral-7B-Instruct-v0.3's GGUFs): a tiny llama-architecture model with Mistral v0.3's real
//! vocabulary and a v0.3-style chat template loads, renders and encodes a prompt as Mistral does,
//! gets the paper's Mistral v0.3 exclusion ids, and scores.

use labelcast_engine::infer::ScoreOptions;
use labelcast_engine::model::parse_gguf;
use labelcast_engine::{AnyEngine, BackendChoice, Prompt};
use labelcast_gpu::testing::block_on;
use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::testing::{random_weights, tiny_config, write_gguf, GgufWriter};
use labelcast_modelfile::{Architecture, Array, TensorType, Value};
use labelcast_text::special::{Exclusion, PaperList};
use serde_json::Value as Json;

const TEMPLATE: &str = "{{ bos_token }}{% for m in messages %}{% if m['role'] == 'user' %}\
                        {{ '[INST] ' + m['content'] + '[/INST]' }}{% else %}{{ m['content'] + eos_token }}{% endif %}{% endfor %}";

fn reference() -> Json {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/reference/text/mistral_v3_spm.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The tiny model's GGUF with its tokenizer keys replaced by Mistral v0.3's, as llama.cpp's
/// converter writes a SentencePiece vocabulary.
fn mistral_like_gguf(r: &Json) -> Vec<u8> {
    let mut c = tiny_config(Architecture::Llama);
    c.vocab_size = r["tokens"].as_array().unwrap().len();
    let ty = |n: &str| if n.ends_with("norm.weight") { TensorType::F32 } else { TensorType::Q8_0 };
    let bytes = write_gguf(&c, &random_weights(&c, 11), ty).unwrap();
    let parsed = GgufFile::parse("m", &bytes).unwrap();
    let mut w = GgufWriter::new();
    for (k, v) in parsed.metadata.iter().filter(|(k, _)| !k.starts_with("tokenizer.")) {
        w.kv(k, v.clone());
    }
    let strs = |k: &str| r[k].as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_string()).collect();
    let id = |k: &str| Value::U32(r[k].as_u64().unwrap() as u32);
    w.kv("tokenizer.ggml.model", Value::String("llama".into()));
    w.kv("tokenizer.ggml.tokens", Value::Array(Array::String(strs("tokens"))));
    let scores = r["scores"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap() as f32).collect();
    w.kv("tokenizer.ggml.scores", Value::Array(Array::F32(scores)));
    let types = r["token_types"].as_array().unwrap().iter().map(|v| v.as_i64().unwrap() as i32).collect();
    w.kv("tokenizer.ggml.token_type", Value::Array(Array::I32(types)));
    w.kv("tokenizer.ggml.bos_token_id", id("bos_token_id"));
    w.kv("tokenizer.ggml.eos_token_id", id("eos_token_id"));
    w.kv("tokenizer.ggml.unknown_token_id", id("unknown_token_id"));
    w.kv("tokenizer.ggml.add_bos_token", Value::Bool(true));
    w.kv("tokenizer.chat_template", Value::String(TEMPLATE.into()));
    for t in &parsed.tensors {
        w.raw_tensor(&t.name, t.ggml_type, &t.dims, bytes[t.data.start as usize..t.data.end as usize].to_vec());
    }
    w.to_bytes()
}

#[test]
fn a_sentencepiece_gguf_encodes_like_mistral_and_scores() {
    let r = reference();
    let (file, text) = parse_gguf("mistral-like.gguf", mistral_like_gguf(&r)).unwrap();
    let question = "What is the capital of France?";
    let case = r["cases"].as_array().unwrap().iter().find(|c| c["text"] == question).unwrap();
    let sp_ids: Vec<u32> = case["ids"].as_array().unwrap().iter().map(|v| v.as_u64().unwrap() as u32).collect();

    // The rendered user turn: <s>[INST] + SentencePiece's ids of the question + [/INST], as
    // mistral-common encodes it.
    let prompt = text.render_prompt(None, question).unwrap();
    assert_eq!(prompt, format!("<s>[INST] {question}[/INST]"));
    let ids = text.tokenizer.encode(&prompt).unwrap();
    assert_eq!(ids, [&[1, 3][..], &sp_ids, &[4]].concat());
    assert_eq!(text.special.exclusion, Exclusion::Paper(PaperList::MistralV03));
    assert_eq!(text.special.exclusion_ids, [2, 29473]);

    let engine = block_on(AnyEngine::from_model_file(file, text, BackendChoice::Cpu, &mut |_| {})).unwrap();
    let opts = ScoreOptions { max_new_tokens: 3, ..Default::default() };
    let scores = block_on(engine.score(&[Prompt::from(question)], &opts, |_| {})).unwrap();
    assert!(!scores[0].generated_ids.is_empty());
    assert_eq!(scores[0].prompt_tokens, ids.len());
}
