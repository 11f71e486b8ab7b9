//! Loading the PyTorch reference (tests/reference) for parity tests.
#![allow(dead_code)] // each test file uses a part of these helpers

use std::path::PathBuf;

use labelcast_engine::model::{parse_safetensors, HfText, Weights};
use labelcast_engine::Engine;
use labelcast_modelfile::{Architecture, ModelConfig, ModelFile, RopeScaling};
use labelcast_text::ModelText;
use serde_json::Value;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn read(rel: &str) -> Vec<u8> {
    let p = repo().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn json(rel: &str) -> Value {
    serde_json::from_slice(&read(rel)).unwrap()
}

/// A Hugging Face config.json as the engine's `ModelConfig`.
pub fn hf_config(v: &Value) -> ModelConfig {
    let u = |k: &str| v[k].as_u64().unwrap_or_else(|| panic!("config.json: {k}")) as usize;
    let heads = u("num_attention_heads");
    let arch = if v["model_type"] == "qwen2" { Architecture::Qwen2 } else { Architecture::Llama };
    ModelConfig {
        arch,
        vocab_size: u("vocab_size"),
        hidden_size: u("hidden_size"),
        intermediate_size: u("intermediate_size"),
        num_layers: u("num_hidden_layers"),
        num_heads: heads,
        num_kv_heads: u("num_key_value_heads"),
        head_dim: v["head_dim"].as_u64().map(|d| d as usize).unwrap_or(u("hidden_size") / heads),
        rope_theta: v["rope_theta"].as_f64().unwrap(),
        rms_norm_eps: v["rms_norm_eps"].as_f64().unwrap(),
        max_position_embeddings: u("max_position_embeddings"),
        tie_word_embeddings: v["tie_word_embeddings"].as_bool().unwrap_or(false),
        rope_scaling: hf_rope_scaling(v),
        sliding_window: match v["model_type"].as_str() {
            Some("mistral") => v["sliding_window"].as_u64().map(|w| w as usize),
            _ => None,
        },
    }
}

/// Only what the reference models use: none, or "llama3" under `rope_scaling` (written by
/// make_tiny_models.py next to transformers 5's `rope_parameters`).
fn hf_rope_scaling(v: &Value) -> Option<RopeScaling> {
    let s = &v["rope_scaling"];
    let f = |k: &str| s[k].as_f64().unwrap_or_else(|| panic!("rope_scaling.{k}"));
    match s["rope_type"].as_str() {
        None | Some("default") => None,
        Some("llama3") => Some(RopeScaling::Llama3 {
            factor: f("factor"),
            low_freq_factor: f("low_freq_factor"),
            high_freq_factor: f("high_freq_factor"),
            original_max_position_embeddings: f("original_max_position_embeddings") as usize,
        }),
        Some(t) => panic!("rope_scaling type {t} in a reference model"),
    }
}

/// One of the tiny reference models (safetensors + config.json + tokenizer files), read
/// through labelcast-modelfile as a user's model would be.
pub fn tiny_model(name: &str) -> (ModelFile, ModelText) {
    let dir = format!("tests/reference/models/{name}");
    let config = String::from_utf8(read(&format!("{dir}/config.json"))).unwrap();
    let shards = vec![("model.safetensors".to_string(), read(&format!("{dir}/model.safetensors")))];
    let tok = read(&format!("{dir}/tokenizer.json"));
    let tok_config = read(&format!("{dir}/tokenizer_config.json"));
    let (file, text) = parse_safetensors(
        name,
        shards,
        &config,
        HfText { tokenizer_config_json: Some(&tok_config), ..HfText::new(&tok) },
    )
    .unwrap();
    assert_eq!(file.config, hf_config(&json(&format!("{dir}/config.json"))));
    (file, text)
}

/// A tiny reference model on the CPU backend.
pub fn tiny_engine(name: &str) -> Engine {
    let (file, text) = tiny_model(name);
    Engine::cpu(Weights::from_model_file(&file).unwrap(), text).unwrap()
}

/// SmolLM2-135M-Instruct (Q4_1 GGUF): `LABELCAST_SMOLLM2_GGUF`, else models/ (CI fetches it
/// with scripts/fetch-model.sh). Missing is a failure, not a skip.
pub fn smollm2_engine() -> Engine {
    let path = std::env::var_os("LABELCAST_SMOLLM2_GGUF")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("models/SmolLM2-135M-Instruct.Q4_1.gguf"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| {
        panic!(
            "SmolLM2 GGUF not readable at {} ({e}): run scripts/fetch-model.sh or set LABELCAST_SMOLLM2_GGUF",
            path.display()
        )
    });
    Engine::from_gguf(&path.display().to_string(), bytes).unwrap()
}

pub fn f64s(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect()
}

pub fn u32s(v: &Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

pub fn matrix(v: &Value) -> Vec<Vec<f64>> {
    v.as_array().unwrap().iter().map(f64s).collect()
}

/// Largest error seen per quantity, printed at the end of a parity test.
#[derive(Default)]
pub struct Errors(pub Vec<(String, f64)>);

impl Errors {
    pub fn note(&mut self, what: &str, err: f64) {
        match self.0.iter_mut().find(|(w, _)| w == what) {
            Some((_, e)) => *e = e.max(err),
            None => self.0.push((what.to_string(), err)),
        }
    }

    pub fn get(&self, what: &str) -> f64 {
        self.0.iter().find(|(w, _)| w == what).map_or(0.0, |e| e.1)
    }

    pub fn check(&self, model: &str, limits: &[(&str, f64)]) {
        for (w, e) in &self.0 {
            eprintln!("{model}: max {w} error {e:.3e}");
        }
        for (w, lim) in limits {
            let e = self.0.iter().find(|(x, _)| x == w).unwrap_or_else(|| panic!("{w} never measured")).1;
            assert!(e <= *lim, "{model}: {w} error {e:.3e} > {lim:e}");
        }
    }
}
