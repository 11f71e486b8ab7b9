//! The transformer forward pass: against a naive loop implementation, and the properties
//! batching, caching, grouping, biases and tying must keep.

mod common;

use std::collections::HashMap;

use candle_core::{DType, Tensor};
use common::*;
use labelcast_engine::backend::cpu::Model;
use labelcast_engine::backend::{Backend, CpuBackend};
use labelcast_engine::infer::{generate, ScoreOptions};
use labelcast_engine::model::{expected_tensors, KvCache, Weights};
use labelcast_engine::EngineError;
use labelcast_modelfile::{Architecture, ModelConfig};

fn full_logits(model: &Model, ids: &[u32]) -> Vec<f64> {
    let h = model.forward(ids, &mut KvCache::new(vec![0]), None, None).unwrap();
    flat(&model.logits(&h).unwrap())
}

fn check_naive(c: &ModelConfig, seed: u64) {
    let w = Weights::random(c, seed).unwrap().to_dtype(DType::F64).unwrap();
    let ids = ids(seed, 11, c.vocab_size);
    let want: Vec<f64> = naive_logits(&w, &ids).concat();
    let got = full_logits(&Model::new(w), &ids);
    let err = max_abs_diff(&got, &want);
    assert!(err < 1e-10, "{:?}: max abs logits error {err}", c.arch);
}

#[test]
fn forward_matches_naive_loops_llama_gqa_untied() {
    check_naive(&llama(), 1);
}

#[test]
fn forward_matches_naive_loops_qwen2_biases_tied() {
    check_naive(&qwen2(), 2);
}

#[test]
fn forward_matches_naive_loops_multi_head_and_single_kv_head() {
    check_naive(&tiny(Architecture::Llama, 4, 4, true), 3);
    check_naive(&tiny(Architecture::Llama, 4, 1, false), 4);
}

/// Grouped-query attention equals multi-head attention with each KV head repeated for its
/// group (Hugging Face's `repeat_kv` order: KV head i serves query heads i·g .. i·g+g−1).
#[test]
fn gqa_equals_mha_with_repeated_kv_heads() {
    let c = tiny(Architecture::Llama, 4, 2, false);
    let w = Weights::random(&c, 5).unwrap();
    let mha_c = ModelConfig { num_kv_heads: 4, ..c.clone() };
    let mut map = HashMap::new();
    let g = c.num_heads / c.num_kv_heads;
    for (name, _) in expected_tensors(&mha_c) {
        let src = find(&w, &name);
        let t = if name.contains("k_proj") || name.contains("v_proj") {
            let heads: Vec<Tensor> = (0..c.num_kv_heads)
                .flat_map(|h| std::iter::repeat_n(src.narrow(0, h * c.head_dim, c.head_dim).unwrap(), g))
                .collect();
            Tensor::cat(&heads, 0).unwrap()
        } else {
            src
        };
        map.insert(name, t);
    }
    let mha = Weights::from_tensors(mha_c, map).unwrap();
    let ids = ids(9, 13, c.vocab_size);
    let err = max_abs_diff(&full_logits(&Model::new(w), &ids), &full_logits(&Model::new(mha), &ids));
    assert!(err < 1e-5, "GQA vs repeated-KV MHA: {err}");
}

fn find(w: &Weights, name: &str) -> Tensor {
    use labelcast_engine::model::Proj;
    if name == "model.embed_tokens.weight" {
        return w.embed.dense().unwrap().into_owned();
    }
    if name == "model.norm.weight" {
        return w.norm.clone();
    }
    if name == "lm_head.weight" {
        return w.output().dense().unwrap().into_owned();
    }
    let l: usize = name.split('.').nth(2).unwrap().parse().unwrap();
    let lw = &w.layers[l];
    if name.ends_with("input_layernorm.weight") {
        return lw.input_norm.clone();
    }
    if name.ends_with("post_attention_layernorm.weight") {
        return lw.post_norm.clone();
    }
    for p in Proj::ALL {
        if name.contains(p.module()) {
            return if name.ends_with(".bias") {
                lw.qkv_bias.as_ref().unwrap()[p.index()].clone()
            } else {
                lw.w(p).dense().unwrap().into_owned()
            };
        }
    }
    panic!("unknown tensor {name}")
}

#[test]
fn tied_equals_untied_with_lm_head_equal_to_embedding() {
    let tied_c = tiny(Architecture::Llama, 4, 2, true);
    let tied = Weights::random(&tied_c, 6).unwrap();
    let untied_c = ModelConfig { tie_word_embeddings: false, ..tied_c.clone() };
    let mut map: HashMap<String, Tensor> =
        expected_tensors(&tied_c).into_iter().map(|(n, _)| (n.clone(), find(&tied, &n))).collect();
    map.insert("lm_head.weight".into(), tied.embed.dense().unwrap().into_owned());
    let untied = Weights::from_tensors(untied_c, map).unwrap();
    assert!(untied.lm_head.is_some() && tied.lm_head.is_none());
    let ids = ids(3, 9, tied_c.vocab_size);
    assert_eq!(full_logits(&Model::new(tied), &ids), full_logits(&Model::new(untied), &ids));
}

#[test]
fn qwen2_with_zero_biases_equals_llama_and_biases_matter() {
    let qc = qwen2();
    let q = Weights::random(&qc, 8).unwrap();
    let names = expected_tensors(&qc);
    let mut map: HashMap<String, Tensor> = names.iter().map(|(n, _)| (n.clone(), find(&q, n))).collect();
    let ids = ids(4, 10, qc.vocab_size);
    let with_bias = full_logits(&Model::new(q.clone()), &ids);
    for (n, _) in &names {
        if n.ends_with(".bias") {
            let z = map[n].zeros_like().unwrap();
            map.insert(n.clone(), z);
        }
    }
    let zero_bias = Weights::from_tensors(qc.clone(), map.clone()).unwrap();
    map.retain(|n, _| !n.ends_with(".bias"));
    let llama = Weights::from_tensors(ModelConfig { arch: Architecture::Llama, ..qc }, map).unwrap();
    let zb = full_logits(&Model::new(zero_bias), &ids);
    assert_eq!(zb, full_logits(&Model::new(llama), &ids));
    assert!(max_abs_diff(&zb, &with_bias) > 1e-3, "the q/k/v biases change nothing");
}

#[test]
fn missing_tensor_and_wrong_shape_are_named() {
    let c = llama();
    let w = Weights::random(&c, 1).unwrap();
    let mut map: HashMap<String, Tensor> =
        expected_tensors(&c).into_iter().map(|(n, _)| (n.clone(), find(&w, &n))).collect();
    map.remove("model.layers.1.mlp.up_proj.weight");
    let e = Weights::from_tensors(c.clone(), map.clone()).unwrap_err().to_string();
    assert!(e.contains("model.layers.1.mlp.up_proj.weight"), "{e}");
    map.insert(
        "model.layers.1.mlp.up_proj.weight".into(),
        Tensor::zeros((3, 3), DType::F32, &candle_core::Device::Cpu).unwrap(),
    );
    let e = Weights::from_tensors(c, map).unwrap_err().to_string();
    assert!(e.contains("up_proj") && e.contains("[3, 3]"), "{e}");
}

/// Generation in a left-padded batch gives what each prompt gives alone.
#[test]
fn batched_generation_equals_one_by_one() {
    for c in [llama(), qwen2()] {
        let b = CpuBackend::new(Weights::random(&c, 11).unwrap().to_dtype(DType::F64).unwrap());
        let prompts: Vec<Vec<u32>> =
            [5, 12, 1, 8, 12, 3].iter().enumerate().map(|(i, &n)| ids(i as u64, n, c.vocab_size)).collect();
        let opts =
            |bs| ScoreOptions { max_new_tokens: 9, batch_size: bs, chat_template: false, ..ScoreOptions::default() };
        // A stop token that ends some rows early but not all of them.
        let free = block_on(generate(&b, &prompts, &[], &opts(1), &mut |_| {})).unwrap();
        let stop = (0..c.vocab_size as u32)
            .find(|&t| {
                let hits = free.iter().filter(|g| g.steps[..8].iter().any(|s| s.token == t)).count();
                hits > 0 && hits < prompts.len()
            })
            .map(|t| [t])
            .expect("some token ends some rows");
        let one = block_on(generate(&b, &prompts, &stop, &opts(1), &mut |_| {})).unwrap();
        let all = block_on(generate(&b, &prompts, &stop, &opts(6), &mut |_| {})).unwrap();
        let three = block_on(generate(&b, &prompts, &stop, &opts(4), &mut |_| {})).unwrap();
        for (i, ((x, y), z)) in one.iter().zip(&all).zip(&three).enumerate() {
            let tok = |g: &labelcast_engine::infer::Generation| g.steps.iter().map(|s| s.token).collect::<Vec<_>>();
            assert_eq!(tok(x), tok(y), "row {i}");
            assert_eq!(tok(x), tok(z), "row {i}");
            let p = |g: &labelcast_engine::infer::Generation| {
                g.steps.iter().flat_map(|s| [s.p_max, s.p_second, s.entropy]).collect::<Vec<_>>()
            };
            assert!(max_abs_diff(&p(x), &p(y)) < 1e-12, "row {i}");
            let e = |g: &labelcast_engine::infer::Generation| g.embedding.iter().map(|&v| v as f64).collect::<Vec<_>>();
            assert!(max_abs_diff(&e(x), &e(y)) < 1e-6, "row {i}");
        }
        assert!(one.iter().any(|g| g.steps.len() < 9), "no row stopped early: the stop test is vacuous");
        assert!(one.iter().any(|g| g.steps.len() == 9), "every row stopped early");
    }
}

/// Each cached decoding step gives the statistics of a full recompute of the sequence.
#[test]
fn kv_cache_generation_equals_full_recompute() {
    let c = llama();
    let w = Weights::random(&c, 12).unwrap().to_dtype(DType::F64).unwrap();
    let b = CpuBackend::new(w.clone());
    let prompt = ids(5, 7, c.vocab_size);
    let opts = ScoreOptions { max_new_tokens: 12, batch_size: 1, chat_template: false, ..ScoreOptions::default() };
    let g = block_on(generate(&b, std::slice::from_ref(&prompt), &[], &opts, &mut |_| {})).unwrap().remove(0);
    assert_eq!(g.steps.len(), 12);
    let model = Model::new(w);
    let mut seq = prompt;
    for s in &g.steps {
        let logits = full_logits(&model, &seq);
        let last: Vec<f32> = logits[logits.len() - c.vocab_size..].iter().map(|&v| v as f32).collect();
        let want = labelcast_engine::backend::step_stats(&last);
        assert_eq!(want.token, s.token);
        assert!((want.p_max - s.p_max).abs() < 1e-6 && (want.entropy - s.entropy).abs() < 1e-5);
        seq.push(s.token);
    }
}

#[test]
fn too_long_prompt_is_an_error_naming_the_row() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 1).unwrap());
    let prompts = vec![vec![1u32; 3], vec![2u32; c.max_position_embeddings + 1]];
    let e = block_on(generate(&b, &prompts, &[], &ScoreOptions::default(), &mut |_| {})).unwrap_err();
    assert!(matches!(e, EngineError::SequenceTooLong { row: 1, .. }), "{e}");
    assert!(e.to_string().starts_with("row 2:"), "{e}");
}

#[test]
fn generation_stops_at_the_context_end() {
    let c = llama();
    let b = CpuBackend::new(Weights::random(&c, 1).unwrap());
    let prompt = vec![3u32; c.max_position_embeddings - 4];
    let opts = ScoreOptions { max_new_tokens: 30, batch_size: 1, chat_template: false, ..ScoreOptions::default() };
    let g = block_on(generate(&b, &[prompt], &[], &opts, &mut |_| {})).unwrap();
    assert_eq!(g[0].steps.len(), 4);
    let _ = b.config();
}

/// Sequences packed into one row (each attending only to itself) give what each gives alone.
#[test]
fn packed_forward_equals_separate_forwards() {
    let c = qwen2();
    let model = Model::new(Weights::random(&c, 13).unwrap().to_dtype(DType::F64).unwrap());
    let seqs: Vec<Vec<u32>> =
        [4, 9, 1, 6].iter().enumerate().map(|(i, &n)| ids(20 + i as u64, n, c.vocab_size)).collect();
    let lens: Vec<usize> = seqs.iter().map(Vec::len).collect();
    let h = model.forward_packed(&seqs.concat(), &lens, None, None).unwrap();
    let got = flat(&model.logits(&h).unwrap());
    let want: Vec<f64> = seqs.iter().flat_map(|s| full_logits(&model, s)).collect();
    assert!(max_abs_diff(&got, &want) < 1e-10);
}

/// Prompts sharing a prefix (as a chat template makes them) run the prefix once; the result
/// is still what each prompt gives alone, including a prompt that is the prefix plus one
/// token and two identical prompts.
#[test]
fn shared_prefix_batch_equals_one_by_one() {
    let c = qwen2();
    let b = CpuBackend::new(Weights::random(&c, 14).unwrap().to_dtype(DType::F64).unwrap());
    let prefix = ids(40, 7, c.vocab_size);
    let prompts: Vec<Vec<u32>> = [5usize, 1, 9, 5, 3]
        .iter()
        .enumerate()
        .map(|(i, &n)| [prefix.clone(), ids(50 + (i % 3) as u64, n, c.vocab_size)].concat())
        .collect();
    let opts = |bs| ScoreOptions { max_new_tokens: 6, batch_size: bs, chat_template: false, ..ScoreOptions::default() };
    let one = block_on(generate(&b, &prompts, &[], &opts(1), &mut |_| {})).unwrap();
    let all = block_on(generate(&b, &prompts, &[], &opts(5), &mut |_| {})).unwrap();
    for (i, (x, y)) in one.iter().zip(&all).enumerate() {
        let p = |g: &labelcast_engine::infer::Generation| {
            g.steps.iter().flat_map(|s| [s.token as f64, s.p_max, s.p_second, s.entropy]).collect::<Vec<_>>()
        };
        assert!(max_abs_diff(&p(x), &p(y)) < 1e-12, "row {i}");
        let e = |g: &labelcast_engine::infer::Generation| g.embedding.iter().map(|&v| v as f64).collect::<Vec<_>>();
        assert!(max_abs_diff(&e(x), &e(y)) < 1e-6, "row {i}");
    }
}
