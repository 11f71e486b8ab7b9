//! The synthetic full-shape models (synth.rs): the loader reads them back as the configuration
//! they were written for, with the tensor types chosen, weights of the intended spread, and a
//! tokenizer padded to the model's vocabulary.

use labelcast_modelfile::gguf::GgufFile;
use labelcast_modelfile::synth::{self, Quant};
use labelcast_modelfile::testing::llama3_rope_factors;
use labelcast_modelfile::{Array, ModelConfig, ModelFile, RopeScaling, TensorType, Value};

fn tokenizer(n: usize) -> Vec<(String, Value)> {
    vec![
        ("tokenizer.ggml.model".into(), Value::String("gpt2".into())),
        ("tokenizer.ggml.tokens".into(), Value::Array(Array::String((0..n).map(|i| format!("t{i}")).collect()))),
        ("tokenizer.ggml.token_type".into(), Value::Array(Array::I32(vec![1; n]))),
        ("general.name".into(), Value::String("not copied".into())),
    ]
}

#[test]
fn a_synthetic_model_reads_back_as_its_config() {
    for family in synth::FAMILIES {
        let mut c = synth::config(family).unwrap();
        c.num_layers = 1;
        // Real widths, a small vocabulary: the file stays small enough for a test.
        c.vocab_size = 512;
        let mut bytes = Vec::new();
        let mut steps = 0;
        let n = synth::write(&c, Quant::Uniform(TensorType::Q4_0), &tokenizer(300), 7, &mut bytes, |_, _| steps += 1)
            .unwrap();
        assert_eq!(n as usize, bytes.len(), "{family}");
        let m = ModelFile::from_gguf("synthetic.gguf", bytes.clone()).unwrap();
        // A GGUF keeps llama3 rope scaling as llama.cpp's per-frequency divisors.
        let divisors = |s: &RopeScaling| RopeScaling::Divisors {
            divisors: llama3_rope_factors(&c, s).into_iter().map(f64::from).collect(),
        };
        let expected = ModelConfig { rope_scaling: c.rope_scaling.as_ref().map(divisors), ..c.clone() };
        assert_eq!(m.config, expected, "{family}");
        assert_eq!(steps, labelcast_modelfile::expected_tensors(&c).len());
        assert_eq!(m.tensor_type("model.layers.0.mlp.up_proj.weight").unwrap(), TensorType::Q4_0);
        assert_eq!(m.tensor_type("model.embed_tokens.weight").unwrap(), TensorType::Q8_0);
        let up =
            m.tensor_f32("model.layers.0.mlp.up_proj.weight").unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let std = (up.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / up.len() as f64).sqrt();
        assert!((0.019..0.021).contains(&std), "{family}: weights' spread {std}");
        let norm = m.tensor_f32("model.norm.weight").unwrap().to_vec1::<f32>().unwrap();
        assert!(norm.iter().all(|x| (0.9..=1.1).contains(x)), "{family}: norms near 1");
        let header = GgufFile::parse("synthetic.gguf", &bytes).unwrap();
        let tokens = header.metadata.get_string_array("tokenizer.ggml.tokens").unwrap();
        assert_eq!(tokens.len(), 512, "padded to the vocabulary");
        assert_eq!((tokens[299].as_str(), tokens[300].as_str()), ("t299", "<|synthetic_300|>"));
        assert_eq!(header.metadata.get_i32_array("tokenizer.ggml.token_type").unwrap()[300], 5, "unused");
        assert!(
            header.metadata.get_str("general.name").unwrap().starts_with("synthetic"),
            "only tokenizer keys are copied"
        );
    }
}

#[test]
fn a_tokenizer_larger_than_the_vocabulary_is_refused() {
    let mut c = synth::config("mistral-7b-instruct-v0.3").unwrap();
    c.num_layers = 1;
    c.vocab_size = 256;
    let e =
        synth::write(&c, Quant::Uniform(TensorType::Q4_0), &tokenizer(300), 7, &mut Vec::new(), |_, _| {}).unwrap_err();
    assert!(e.to_string().contains("300 tokens, more than the model's 256 embedding rows"), "{e}");
}

/// llama.cpp's Q4_K_M mix: Q4_K matrices, Q6_K for the output layer and for v/down in the
/// layers given more bits, Q8_0 where rows are no whole number of 256-value blocks; every
/// block type decodes to the intended spread.
#[test]
fn the_q4_k_m_mix_has_llama_cpp_types_and_the_intended_spread() {
    let spread = |m: &ModelFile, name: &str| {
        let v = m.tensor_f32(name).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        (v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let mut c = synth::config("llama-3.1-8b-instruct").unwrap();
    (c.num_layers, c.vocab_size, c.hidden_size, c.intermediate_size) = (16, 512, 512, 1024);
    (c.num_heads, c.num_kv_heads, c.head_dim) = (4, 2, 128);
    let mut bytes = Vec::new();
    synth::write(&c, Quant::Q4KM, &tokenizer(300), 3, &mut bytes, |_, _| {}).unwrap();
    let m = ModelFile::from_gguf("synthetic.gguf", bytes).unwrap();
    let ty = |name: &str| m.tensor_type(name).unwrap();
    assert_eq!(ty("lm_head.weight"), TensorType::Q6K);
    assert_eq!(ty("model.embed_tokens.weight"), TensorType::Q4K);
    // 16 layers: the first 2 and last 2, and every third from layer 2 (4, 7, 10, 13).
    let more: Vec<usize> =
        (0..16).filter(|l| ty(&format!("model.layers.{l}.mlp.down_proj.weight")) == TensorType::Q6K).collect();
    assert_eq!(more, [0, 1, 4, 7, 10, 13, 14, 15]);
    assert_eq!(ty("model.layers.4.self_attn.v_proj.weight"), TensorType::Q6K);
    assert_eq!(ty("model.layers.5.self_attn.v_proj.weight"), TensorType::Q4K);
    assert_eq!(ty("model.layers.5.self_attn.q_proj.weight"), TensorType::Q4K);
    for name in ["lm_head.weight", "model.layers.5.mlp.up_proj.weight"] {
        let s = spread(&m, name);
        assert!((0.019..0.021).contains(&s), "{name}: spread {s}");
    }
    // SmolLM2's 576-wide rows are no whole number of Q4_K blocks: Q8_0 instead.
    let mut s = synth::config("smollm2-135m-instruct").unwrap();
    (s.num_layers, s.vocab_size) = (1, 512);
    let mut bytes = Vec::new();
    synth::write(&s, Quant::Q4KM, &tokenizer(300), 3, &mut bytes, |_, _| {}).unwrap();
    let m = ModelFile::from_gguf("synthetic.gguf", bytes).unwrap();
    assert_eq!(m.tensor_type("model.layers.0.mlp.up_proj.weight").unwrap(), TensorType::Q8_0);
}
