//! The CPU backend with its matrices kept quantized (`CpuWeights::Quantized`, what `Auto`
//! chooses for models too large to hold in f32): the same model as the dense weights, up to
//! the rounding of activations to 8-bit blocks in candle's quantized matmul.

mod common;
#[path = "common/reference.rs"]
mod reference;

use common::{block_on, flat, ids, max_abs_diff};
use labelcast_core::table::{read_table, ReadOptions, Role};
use labelcast_engine::backend::cpu::Model;
use labelcast_engine::model::{parse_gguf, CpuWeights, KvCache, Matrix, Weights};
use labelcast_engine::{Engine, Example, LoraOptions, Prompt, ScoreOptions};
use labelcast_modelfile::testing::{random_weights, tiny_config, write_gguf, NamedTensor};
use labelcast_modelfile::{Architecture, ModelFile, TensorType};
use reference::smollm2_engine;

fn logits(w: Weights, ids: &[u32]) -> Vec<f64> {
    let model = Model::new(w);
    let h = model.forward(ids, &mut KvCache::new(vec![0]), None, None).unwrap();
    flat(&model.logits(&h).unwrap())
}

/// Projections scaled to ±1/sqrt(in), so activations keep unit scale through the layers (as in
/// a trained model) instead of growing with each matmul: with growing activations a random
/// model turns chaotic, and any rounding, 8-bit activations included, moves its logits a lot.
fn unit_scale(mut w: Vec<NamedTensor>) -> Vec<NamedTensor> {
    for (name, dims, values) in &mut w {
        if dims.len() == 2 && !name.contains("embed_tokens") {
            let s = 2.0 / (dims[1] as f32).sqrt();
            values.iter_mut().for_each(|v| *v *= s);
        }
    }
    w
}

/// Llama (q/k rows permuted in the GGUF, undone on whole quantized rows) and Qwen2 (biases),
/// untied and tied output layers, in two block formats.
#[test]
fn quantized_forward_matches_dense_of_the_same_file() {
    for (arch, tied, ty) in [
        (Architecture::Llama, false, TensorType::Q4_0),
        (Architecture::Qwen2, true, TensorType::Q8_0),
        (Architecture::Llama, true, TensorType::Q4K),
        (Architecture::Llama, false, TensorType::Q8_0),
        (Architecture::Qwen2, false, TensorType::Q4_0),
    ] {
        let c = labelcast_modelfile::ModelConfig { tie_word_embeddings: tied, ..tiny_config(arch) };
        let bytes = write_gguf(&c, &unit_scale(random_weights(&c, 5)), |name| {
            if name.ends_with("norm.weight") || name.ends_with(".bias") {
                TensorType::F32
            } else {
                ty
            }
        })
        .unwrap();
        let file = ModelFile::from_gguf("tiny.gguf", bytes).unwrap();
        let dense = Weights::from_model_file_with(&file, CpuWeights::Dense).unwrap();
        let quant = Weights::from_model_file_with(&file, CpuWeights::Quantized).unwrap();
        assert!(quant.layers.iter().all(|l| l.proj.iter().all(|m| matches!(m, Matrix::Quantized(_)))));
        assert_eq!(quant.lm_head.is_some(), !tied);
        let (held, full): (usize, usize) = quant.layers[0]
            .proj
            .iter()
            .zip(&dense.layers[0].proj)
            .map(|(q, d)| (q.size_in_bytes(), d.size_in_bytes()))
            .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        assert!(held * 3 < full, "{ty:?}: {held} bytes quantized against {full} in f32");
        let ids = ids(3, 12, c.vocab_size);
        let (d, q) = (logits(dense, &ids), logits(quant, &ids));
        let scale = d.iter().fold(0f64, |m, x| m.max(x.abs()));
        let err = max_abs_diff(&d, &q);
        assert!(err < 0.03 * scale, "{arch:?} {ty:?}: logits differ by {err} (largest {scale})");
        assert!(err > 0.0, "the quantized path ran (activations are rounded to 8 bits)");
    }
}

/// SmolLM2 (Q4_1): the confidences and CoS-Low a user would get stay within the digits shown.
#[test]
fn smollm2_quantized_scores_and_coslow_match_dense() {
    let dense = smollm2_engine();
    let path = std::env::var("LABELCAST_SMOLLM2_GGUF")
        .unwrap_or_else(|_| reference::repo().join("models/SmolLM2-135M-Instruct.Q4_1.gguf").display().to_string());
    let (file, text) = parse_gguf(&path, std::fs::read(&path).unwrap()).unwrap();
    let quant = Engine::cpu(Weights::from_model_file_with(&file, CpuWeights::Quantized).unwrap(), text).unwrap();
    let prompts: Vec<Prompt> =
        ["What is the capital of France?", "Is 17 a prime number? Answer yes or no.", "Translate 'cat' into German."]
            .into_iter()
            .map(Prompt::from)
            .collect();
    let opts = ScoreOptions { max_new_tokens: 8, ..Default::default() };
    let a = block_on(dense.score(&prompts, &opts, |_| {})).unwrap();
    let b = block_on(quant.score(&prompts, &opts, |_| {})).unwrap();
    for (x, y) in a.iter().zip(&b) {
        if x.generated_ids == y.generated_ids {
            let (p, q) = (x.stats.avg_confidence.unwrap(), y.stats.avg_confidence.unwrap());
            // 0.031 at most over the 200 prompts of tests/data/pool.csv (docs/benchmarks/cpu.md),
            // within 0.02 for these three.
            assert!((p - q).abs() < 0.02, "avg_confidence {p} dense, {q} quantized");
        }
    }
    let labeled = std::fs::read(reference::repo().join("tests/data/labeled.csv")).unwrap();
    let table = read_table("labeled.csv", &labeled, &ReadOptions::default()).unwrap();
    let exs: Vec<Example> = (0..8)
        .map(|r| Example {
            system: None,
            prompt: table.role_value(r, Role::Prompt).unwrap().into(),
            answer: table.role_value(r, Role::Answer).unwrap().into(),
        })
        .collect();
    let c1 = block_on(dense.coslow(&exs, &LoraOptions::default(), |_| {})).unwrap().coslow;
    let c2 = block_on(quant.coslow(&exs, &LoraOptions::default(), |_| {})).unwrap().coslow;
    // Gradients multiply by the dequantized matrices: the dense model's numbers.
    assert!((c1 - c2).abs() < 1e-6, "CoS-Low {c1} dense, {c2} quantized");
}

/// The embedding kept in its blocks (what lets Qwen2.5-14B's 152,064-token vocabulary stay
/// 0.4 GB instead of 3.1 GB in f32) looks up exactly the rows of the dequantized embedding: the
/// same model with the embedding dequantized scores and computes CoS-Low identically. A tied
/// output layer is then the quantized embedding, multiplied as its blocks in scoring; gradients
/// multiply by it dequantized, so CoS-Low is still identical.
#[test]
fn a_quantized_embedding_gives_the_dequantized_embeddings_numbers() {
    use labelcast_engine::backend::CpuBackend;
    use labelcast_engine::coslow::coslow;
    use labelcast_engine::grad::{AdapterInit, TokenExample};
    use labelcast_engine::infer::generate;

    for (arch, tied, ty) in [
        (Architecture::Llama, false, TensorType::Q4K),
        (Architecture::Qwen2, false, TensorType::Q8_0),
        (Architecture::Llama, true, TensorType::Q4_0),
    ] {
        let c = labelcast_modelfile::ModelConfig { tie_word_embeddings: tied, ..tiny_config(arch) };
        let bytes = write_gguf(&c, &unit_scale(random_weights(&c, 7)), |name| {
            if name.ends_with("norm.weight") || name.ends_with(".bias") {
                TensorType::F32
            } else {
                ty
            }
        })
        .unwrap();
        let file = ModelFile::from_gguf("tiny.gguf", bytes).unwrap();
        let quant = Weights::from_model_file_with(&file, CpuWeights::Quantized).unwrap();
        let rows = quant.embed.dense().unwrap().into_owned();
        assert!(matches!(quant.embed, Matrix::Quantized(_)), "{ty:?}: the embedding kept in its blocks");
        assert!(quant.embed.size_in_bytes() * 3 < rows.elem_count() * 4, "{ty:?}");
        assert!(matches!(quant.output(), Matrix::Quantized(_)), "{ty:?}: the output layer in blocks");
        let mut unpacked = quant.clone();
        unpacked.embed = Matrix::Dense(rows);
        let (q, d) = (CpuBackend::new(quant), CpuBackend::new(unpacked));

        let prompts: Vec<Vec<u32>> = (0..4).map(|i| ids(20 + i, 3 + i as usize, c.vocab_size)).collect();
        let opts = ScoreOptions { max_new_tokens: 5, batch_size: 2, chat_template: false, ..Default::default() };
        let sq = block_on(generate(&q, &prompts, &[], &opts, &mut |_| {})).unwrap();
        let sd = block_on(generate(&d, &prompts, &[], &opts, &mut |_| {})).unwrap();
        if tied {
            // The dequantized embedding is also a dense output layer: 8-bit activations no more.
            // Step by step while the two generations agree (the first step always compared).
            for (a, b) in sq.iter().zip(&sd) {
                for (x, y) in a.steps.iter().zip(&b.steps) {
                    assert!((x.p_max - y.p_max).abs() < 0.05, "{ty:?}: p_max {} in blocks, {} dense", x.p_max, y.p_max);
                    if x.token != y.token {
                        break;
                    }
                }
            }
        } else {
            assert_eq!(sq, sd, "{arch:?} {ty:?}: scores");
        }

        let examples: Vec<TokenExample> =
            (0..4).map(|i| TokenExample { ids: ids(40 + i, 6 + i as usize, c.vocab_size), n_prompt: 3 }).collect();
        let lora = LoraOptions { rank: 4, alpha: 8.0, init: AdapterInit::Seeded(3), ..Default::default() };
        let cq = block_on(coslow(&q, &examples, &[], &lora, &mut |_| {})).unwrap().coslow;
        let cd = block_on(coslow(&d, &examples, &[], &lora, &mut |_| {})).unwrap().coslow;
        assert_eq!(cq, cd, "{arch:?} {ty:?} tied {tied}: CoS-Low");
    }
}
