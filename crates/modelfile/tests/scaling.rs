//! Rotary scaling (Llama 3.1 "llama3", "linear", GGUF rope_freqs) and sliding windows, read
//! from config.json and GGUF.

use labelcast_modelfile::testing::{
    config_json, llama3_rope_factors, random_weights, tiny_config, write_gguf, write_safetensors, GgufWriter,
};
use labelcast_modelfile::{Architecture, ModelConfig, ModelFile, ModelFileError, RopeScaling, TensorType, Value};

fn llama3() -> RopeScaling {
    // With head_dim 64 and theta 10000 the wavelengths run from 6.3 to ~47000: some below
    // 32 / 4 = 8 (kept), some above 32 (stretched) and some between (interpolated).
    RopeScaling::Llama3 {
        factor: 8.0,
        low_freq_factor: 1.0,
        high_freq_factor: 4.0,
        original_max_position_embeddings: 32,
    }
}

fn scaled(s: Option<RopeScaling>, window: Option<usize>) -> ModelConfig {
    ModelConfig { rope_scaling: s, sliding_window: window, ..tiny_config(Architecture::Llama) }
}

fn both(c: &ModelConfig) -> (ModelFile, ModelFile) {
    let w = random_weights(c, 3);
    let gguf = ModelFile::from_gguf("m.gguf", write_gguf(c, &w, |_| TensorType::F32).unwrap()).unwrap();
    let st = [("m.safetensors", write_safetensors(&w, TensorType::F32).unwrap())];
    let st = ModelFile::from_safetensors("m", st, &config_json(c)).unwrap();
    (gguf, st)
}

fn max_rel(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| ((x - y) / y).abs()).fold(0.0, f64::max)
}

#[test]
fn llama3_from_config_json_and_from_gguf_rope_freqs_give_the_same_frequencies() {
    let c = scaled(Some(llama3()), None);
    let (gguf, st) = both(&c);
    assert_eq!(st.config, c);
    let Some(RopeScaling::Divisors { divisors }) = &gguf.config.rope_scaling else {
        panic!("GGUF rope_freqs not read: {:?}", gguf.config.rope_scaling)
    };
    let want: Vec<f64> = llama3_rope_factors(&c, &llama3()).into_iter().map(f64::from).collect();
    assert_eq!(divisors, &want);
    assert!(divisors.contains(&1.0) && divisors.contains(&8.0), "all three regimes present: {divisors:?}");
    assert!(divisors.iter().any(|&d| d > 1.0 && d < 8.0), "{divisors:?}");
    // Divisors are stored in f32: the frequencies agree to f32 precision.
    let err = max_rel(&gguf.config.rope_inv_freq(), &st.config.rope_inv_freq());
    assert!(err < 1e-6, "relative difference {err}");
    let plain = scaled(None, None).rope_inv_freq();
    assert!(max_rel(&st.config.rope_inv_freq(), &plain) > 0.5, "scaling changed nothing");
    // The rest of the configuration is the same.
    assert_eq!(ModelConfig { rope_scaling: None, ..gguf.config.clone() }, scaled(None, None));
}

#[test]
fn linear_scaling_from_both_formats() {
    let c = scaled(Some(RopeScaling::Linear { factor: 4.0 }), None);
    let (gguf, st) = both(&c);
    assert_eq!(gguf.config, c);
    assert_eq!(st.config, c);
    let base = scaled(None, None).rope_inv_freq();
    let got = c.rope_inv_freq();
    assert!(got.iter().zip(&base).all(|(g, b)| (g * 4.0 - b).abs() < 1e-15));
}

#[test]
fn sliding_window_from_both_formats() {
    let c = scaled(None, Some(4));
    let (gguf, st) = both(&c);
    assert_eq!(gguf.config.sliding_window, Some(4));
    assert_eq!(st.config, c);
    assert!(c.in_window(9, 6) && !c.in_window(9, 5) && c.in_window(3, 0));
    assert!(scaled(None, None).in_window(1000, 0));
    let zero = scaled(None, Some(0));
    assert!(matches!(zero.validate(), Err(ModelFileError::Config(_))));
}

#[test]
fn config_json_windows_as_transformers_applies_them() {
    let c = tiny_config(Architecture::Llama);
    let w = random_weights(&c, 4);
    let load = |json: &serde_json::Value| {
        let st = [("m.safetensors", write_safetensors(&w, TensorType::F32).unwrap())];
        ModelFile::from_safetensors("m", st, &json.to_string()).map(|m| m.config.sliding_window)
    };
    let mut j: serde_json::Value = serde_json::from_str(&config_json(&c)).unwrap();
    // LlamaConfig has no window: the key is ignored.
    j["sliding_window"] = 4.into();
    assert_eq!(load(&j).unwrap(), None);
    j["model_type"] = "mistral".into();
    assert_eq!(load(&j).unwrap(), Some(4));
    j["sliding_window"] = serde_json::Value::Null;
    assert_eq!(load(&j).unwrap(), None);

    let qc = ModelConfig { tie_word_embeddings: true, ..tiny_config(Architecture::Qwen2) };
    let qw = random_weights(&qc, 5);
    let qload = |json: &serde_json::Value| {
        let st = [("m.safetensors", write_safetensors(&qw, TensorType::F32).unwrap())];
        ModelFile::from_safetensors("q", st, &json.to_string()).map(|m| m.config.sliding_window)
    };
    let mut q: serde_json::Value = serde_json::from_str(&config_json(&qc)).unwrap();
    // Qwen2.5 configs carry a window with use_sliding_window false: no window.
    q["sliding_window"] = 32768.into();
    q["use_sliding_window"] = false.into();
    q["max_window_layers"] = 28.into();
    assert_eq!(qload(&q).unwrap(), None);
    q["use_sliding_window"] = true.into();
    q["max_window_layers"] = 0.into();
    assert_eq!(qload(&q).unwrap(), Some(32768));
    q["max_window_layers"] = 1.into();
    let e = qload(&q).unwrap_err().to_string();
    assert!(e.contains("on 1 of 2 layers only is not supported"), "{e}");
    q["layer_types"] = serde_json::json!(["sliding_attention", "sliding_attention"]);
    assert_eq!(qload(&q).unwrap(), Some(32768));
    q["layer_types"] = serde_json::json!(["full_attention", "chunked_attention"]);
    let e = qload(&q).unwrap_err().to_string();
    assert!(e.contains("\"chunked_attention\""), "{e}");
}

#[test]
fn unsupported_scalings_are_refused_by_name() {
    let c = tiny_config(Architecture::Llama);
    let w = random_weights(&c, 6);
    let mut j: serde_json::Value = serde_json::from_str(&config_json(&c)).unwrap();
    j["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0});
    let st = [("m.safetensors", write_safetensors(&w, TensorType::F32).unwrap())];
    let e = ModelFile::from_safetensors("m", st, &j.to_string()).unwrap_err().to_string();
    assert!(e.contains("m/config.json") && e.contains("\"yarn\" is not supported"), "{e}");

    let gguf_with = |edit: &dyn Fn(&mut GgufWriter)| {
        let mut g = GgufWriter::new();
        g.kv("general.architecture", Value::String("llama".into()));
        let bytes = write_gguf(&c, &w, |_| TensorType::F32).unwrap();
        // Rebuild: the tiny file's own metadata and tensors, then the edit.
        let parsed = labelcast_modelfile::gguf::GgufFile::parse("t", &bytes).unwrap();
        for (k, v) in parsed.metadata.iter().filter(|(k, _)| *k != "general.architecture") {
            g.kv(k, v.clone());
        }
        for t in &parsed.tensors {
            g.raw_tensor(&t.name, t.ggml_type, &t.dims, bytes[t.data.start as usize..t.data.end as usize].to_vec());
        }
        edit(&mut g);
        ModelFile::from_gguf("t.gguf", g.to_bytes())
    };
    let e = gguf_with(&|g| {
        g.kv("llama.rope.scaling.type", Value::String("yarn".into()));
        g.kv("llama.rope.scaling.factor", Value::F32(4.0));
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("\"yarn\"") && e.contains("not supported"), "{e}");
    // A factor of 1 is no scaling, whatever its type.
    let m = gguf_with(&|g| {
        g.kv("llama.rope.scaling.type", Value::String("yarn".into()));
        g.kv("llama.rope.scaling.factor", Value::F32(1.0));
    })
    .unwrap();
    assert_eq!(m.config.rope_scaling, None);
    // rope_freqs of the wrong length.
    let e = gguf_with(&|g| {
        g.tensor("rope_freqs.weight", TensorType::F32, &[3], &[1.0, 2.0, 3.0]).unwrap();
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("rope_freqs.weight has 3 values"), "{e}");
    // rope_freqs together with a linear factor: llama.cpp applies both.
    let m = gguf_with(&|g| {
        g.kv("llama.rope.scaling.type", Value::String("linear".into()));
        g.kv("llama.rope.scaling.factor", Value::F32(2.0));
        g.tensor("rope_freqs.weight", TensorType::F32, &[32], &[3.0; 32]).unwrap();
    })
    .unwrap();
    assert_eq!(m.config.rope_scaling, Some(RopeScaling::Divisors { divisors: vec![6.0; 32] }));
}

/// Configurations serialized before these fields existed still deserialize.
#[test]
fn old_serialized_configs_still_read() {
    let c = tiny_config(Architecture::Qwen2);
    let mut v = serde_json::to_value(&c).unwrap();
    v.as_object_mut().unwrap().remove("rope_scaling");
    v.as_object_mut().unwrap().remove("sliding_window");
    let back: ModelConfig = serde_json::from_value(v).unwrap();
    assert_eq!(back, c);
    let s = scaled(Some(llama3()), Some(7));
    assert_eq!(serde_json::from_str::<ModelConfig>(&serde_json::to_string(&s).unwrap()).unwrap(), s);
}
