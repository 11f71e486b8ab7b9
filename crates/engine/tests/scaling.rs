//! Sliding-window attention (Mistral) and scaled rotary frequencies (Llama 3.1) in the forward
//! pass: against the naive loops, across batching, caching and packing, and the GGUF encoding
//! of llama3 scaling (`rope_freqs.weight`) against the config.json one.

mod common;
#[path = "common/reference.rs"]
mod reference;

use candle_core::DType;
use common::*;
use labelcast_engine::backend::cpu::Model;
use labelcast_engine::backend::CpuBackend;
use labelcast_engine::infer::{generate, Generation, ScoreOptions};
use labelcast_engine::model::{expected_tensors, KvCache, Weights};
use labelcast_modelfile::testing::{write_gguf, NamedTensor};
use labelcast_modelfile::{ModelConfig, ModelFile, RopeScaling, TensorType};
use reference::{json, matrix, read, u32s};

fn f64_model(c: &ModelConfig, seed: u64) -> Model {
    Model::new(Weights::random(c, seed).unwrap().to_dtype(DType::F64).unwrap())
}

fn full_logits(model: &Model, ids: &[u32]) -> Vec<f64> {
    let h = model.forward(ids, &mut KvCache::new(vec![0]), None, None).unwrap();
    flat(&model.logits(&h).unwrap())
}

#[test]
fn forward_matches_naive_loops_with_window_and_rope_scaling() {
    let both = ModelConfig { sliding_window: Some(5), ..rope_scaled() };
    for (i, c) in [windowed(), rope_scaled(), both].into_iter().enumerate() {
        let w = Weights::random(&c, 30 + i as u64).unwrap().to_dtype(DType::F64).unwrap();
        let ids = ids(31 + i as u64, 13, c.vocab_size);
        let want = naive_logits(&w, &ids).concat();
        let got = full_logits(&Model::new(w.clone()), &ids);
        let err = max_abs_diff(&got, &want);
        assert!(err < 1e-10, "{c:?}: max abs logits error {err}");
        // Not vacuous: without the window / the scaling the logits differ.
        let plain = Weights { config: ModelConfig { sliding_window: None, rope_scaling: None, ..c.clone() }, ..w };
        assert!(max_abs_diff(&full_logits(&Model::new(plain), &ids), &want) > 1e-3);
    }
}

/// Each generated step (batched with left padding and a shared prefix, decoded with the
/// KV cache) gives what a full recompute of the whole sequence gives, though the sequences
/// are several windows long.
#[test]
fn windowed_generation_batched_and_cached_equals_full_recompute() {
    let c = windowed();
    let model = f64_model(&c, 32);
    let b = CpuBackend::new(model.weights.clone());
    let prefix = ids(33, 5, c.vocab_size);
    let prompts: Vec<Vec<u32>> = [6usize, 1, 9, 4]
        .iter()
        .enumerate()
        .map(|(i, &n)| [prefix.clone(), ids(34 + i as u64, n, c.vocab_size)].concat())
        .chain([ids(40, 7, c.vocab_size)])
        .collect();
    let opts = |bs| ScoreOptions { max_new_tokens: 8, batch_size: bs, chat_template: false, ..ScoreOptions::default() };
    let one = block_on(generate(&b, &prompts, &[], &opts(1), &mut |_| {})).unwrap();
    let all = block_on(generate(&b, &prompts, &[], &opts(5), &mut |_| {})).unwrap();
    let stats = |g: &Generation| -> Vec<f64> {
        g.steps.iter().flat_map(|s| [s.token as f64, s.p_max, s.p_second, s.entropy]).collect()
    };
    for (i, (x, y)) in one.iter().zip(&all).enumerate() {
        assert!(max_abs_diff(&stats(x), &stats(y)) < 1e-12, "row {i}");
    }
    for (p, g) in prompts.iter().zip(&one) {
        let mut seq = p.clone();
        for s in &g.steps {
            let logits = full_logits(&model, &seq);
            let last: Vec<f32> = logits[logits.len() - c.vocab_size..].iter().map(|&v| v as f32).collect();
            let want = labelcast_engine::backend::step_stats(&last);
            assert_eq!(want.token, s.token);
            assert!((want.p_max - s.p_max).abs() < 1e-6 && (want.entropy - s.entropy).abs() < 1e-5);
            seq.push(s.token);
        }
    }
}

/// The gradients run packed sequences: each still sees only its own last `window` tokens.
#[test]
fn packed_forward_with_window_equals_separate_forwards() {
    let c = windowed();
    let model = f64_model(&c, 35);
    let seqs: Vec<Vec<u32>> =
        [4, 9, 1, 6].iter().enumerate().map(|(i, &n)| ids(36 + i as u64, n, c.vocab_size)).collect();
    let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let h = model.forward_packed(&seqs.concat(), &lens, None, None).unwrap();
    let got = flat(&model.logits(&h).unwrap());
    let want: Vec<f64> = seqs.iter().flat_map(|s| full_logits(&model, s)).collect();
    assert!(max_abs_diff(&got, &want) < 1e-10);
}

/// A reference model's tensors, as a test writer takes them.
fn named_tensors(m: &ModelFile) -> Vec<NamedTensor> {
    expected_tensors(&m.config)
        .into_iter()
        .map(|(name, dims)| {
            let t = m.tensor_f32(&name).unwrap();
            let v = t.flatten_all().unwrap().to_vec1::<f32>().unwrap();
            (name, dims, v)
        })
        .collect()
}

fn load_reference(name: &str) -> ModelFile {
    let dir = format!("tests/reference/models/{name}");
    let config = String::from_utf8(read(&format!("{dir}/config.json"))).unwrap();
    let shards = [("model.safetensors", read(&format!("{dir}/model.safetensors")))];
    ModelFile::from_safetensors(name, shards, &config).unwrap()
}

/// The same model written as GGUF the way llama.cpp's converter writes it (q/k permuted,
/// llama3 scaling as `rope_freqs.weight`, the window as `attention.sliding_window`) gives
/// the logits of the config.json model and of PyTorch.
fn gguf_equals_safetensors(name: &str) -> (ModelConfig, f64, f64) {
    let st = load_reference(name);
    let bytes = write_gguf(&st.config, &named_tensors(&st), |_| TensorType::F32).unwrap();
    let gguf = ModelFile::from_gguf(&format!("{name}.gguf"), bytes).unwrap();
    let a = Model::new(Weights::from_model_file(&st).unwrap());
    let b = Model::new(Weights::from_model_file(&gguf).unwrap());
    let r = json(&format!("tests/reference/out/{name}.json"));
    let (mut between, mut to_torch) = (0.0f64, 0.0f64);
    for p in r["logits"]["prompts"].as_array().unwrap() {
        let ids = u32s(&p["ids"]);
        let (la, lb) = (full_logits(&a, &ids), full_logits(&b, &ids));
        between = between.max(max_abs_diff(&la, &lb));
        to_torch = to_torch.max(max_abs_diff(&lb, &matrix(&p["logits"]).concat()));
    }
    eprintln!("{name}: GGUF vs safetensors max logits diff {between:.3e}, GGUF vs PyTorch {to_torch:.3e}");
    (gguf.config, between, to_torch)
}

#[test]
fn gguf_rope_freqs_gives_the_logits_of_llama3_scaling() {
    let (c, between, to_torch) = gguf_equals_safetensors("tiny-llama3");
    let Some(RopeScaling::Divisors { divisors }) = &c.rope_scaling else {
        panic!("the GGUF's rope_freqs.weight was not used: {:?}", c.rope_scaling)
    };
    // head_dim 16: one frequency kept, two interpolated, five stretched by 8.
    assert_eq!(divisors[0], 1.0);
    assert!(divisors[1] > 1.0 && divisors[2] < 8.0 && divisors[3..].iter().all(|&d| d == 8.0), "{divisors:?}");
    // The divisors are f32 (as llama.cpp stores them), the config.json frequencies f64.
    assert!(between < 1e-4, "GGUF vs safetensors: {between}");
    assert!(to_torch < 1e-3, "GGUF vs PyTorch: {to_torch}");
}

#[test]
fn gguf_sliding_window_gives_the_logits_of_mistral_config() {
    let (c, between, to_torch) = gguf_equals_safetensors("tiny-mistral");
    assert_eq!(c.sliding_window, Some(4));
    assert!(between < 1e-4 && to_torch < 1e-3, "{between} {to_torch}");
}
