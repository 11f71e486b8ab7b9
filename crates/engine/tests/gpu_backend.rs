//! The GPU backend gives the CPU backend's numbers: per-step statistics and embeddings,
//! whole generations, LoRA and exact CoS-Low — on random tiny models of every supported
//! shape (llama, qwen2 with biases and tied output, a sliding window, llama3 rope scaling)
//! and on the tiny reference models. Natively on whatever adapter wgpu finds (lavapipe in
//! CI); tests run one at a time (software drivers dislike many devices at once).

mod common;

use std::sync::Mutex;

use common::{ids, llama, qwen2, rope_scaled, windowed};
use labelcast_engine::backend::gpu::gpu_batch_bytes as grad_bytes;
use labelcast_engine::backend::{Backend, CpuBackend, GpuBackend, StepStats};
use labelcast_engine::grad::{self, GradVariant, LoraOptions, Reduction, TokenExample};
use labelcast_engine::infer::{self, ScoreOptions};
use labelcast_engine::model::Weights;
use labelcast_gpu::testing::{block_on, test_gpu};
use labelcast_modelfile::ModelConfig;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn backends(c: &ModelConfig, seed: u64) -> Option<(CpuBackend, GpuBackend)> {
    let w = Weights::random(c, seed).unwrap();
    let gpu = test_gpu()?;
    let g = GpuBackend::from_weights(gpu, &w).unwrap();
    Some((CpuBackend::new(w), g))
}

fn configs() -> Vec<(&'static str, ModelConfig)> {
    vec![("llama", llama()), ("qwen2", qwen2()), ("windowed", windowed()), ("rope-scaled", rope_scaled())]
}

fn close_stats(what: &str, a: &[StepStats], b: &[StepStats], tol: f64) {
    assert_eq!(a.len(), b.len(), "{what}: row counts");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert_eq!(x.token, y.token, "{what} row {i}: argmax");
        for (name, u, v) in
            [("p_max", x.p_max, y.p_max), ("p_second", x.p_second, y.p_second), ("entropy", x.entropy, y.entropy)]
        {
            assert!((u - v).abs() <= tol, "{what} row {i} {name}: cpu {u} gpu {v}");
        }
    }
}

#[test]
fn prefill_decode_and_retain_match_cpu() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for (name, c) in configs() {
        let Some((cpu, gpu)) = backends(&c, 7) else { return };
        let rows: Vec<Vec<u32>> =
            [5, 9, 1, 7].iter().enumerate().map(|(i, &n)| ids(i as u64 + 3, n, c.vocab_size)).collect();
        let (mut cc, cp) = block_on(cpu.prefill(&rows)).unwrap();
        let (mut gc, gp) = block_on(gpu.prefill(&rows)).unwrap();
        close_stats(&format!("{name} prefill"), &cp.stats, &gp.stats, 1e-4);
        for (r, (a, b)) in cp.embeddings.iter().zip(&gp.embeddings).enumerate() {
            let d = a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0f32, f32::max);
            assert!(d < 1e-4, "{name} embedding {r}: max diff {d}");
        }
        // Two decode steps, dropping a row in between.
        let toks: Vec<u32> = cp.stats.iter().map(|s| s.token).collect();
        let a = block_on(cpu.decode(&mut cc, &toks)).unwrap();
        let b = block_on(gpu.decode(&mut gc, &toks)).unwrap();
        close_stats(&format!("{name} decode 1"), &a, &b, 1e-4);
        block_on(cpu.retain(&mut cc, &[3, 0])).unwrap();
        block_on(gpu.retain(&mut gc, &[3, 0])).unwrap();
        let toks = [a[3].token, a[0].token];
        let a = block_on(cpu.decode(&mut cc, &toks)).unwrap();
        let b = block_on(gpu.decode(&mut gc, &toks)).unwrap();
        close_stats(&format!("{name} decode 2"), &a, &b, 1e-4);
    }
}

#[test]
fn generation_scores_match_cpu() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let c = llama();
    let Some((cpu, gpu)) = backends(&c, 11) else { return };
    let prompts: Vec<Vec<u32>> = (0..6).map(|i| ids(40 + i, 3 + 2 * i as usize, c.vocab_size)).collect();
    let opts = ScoreOptions { max_new_tokens: 8, batch_size: 4, ..Default::default() };
    let a = block_on(infer::generate(&cpu, &prompts, &[], &opts, &mut |_| {})).unwrap();
    let b = block_on(infer::generate(&gpu, &prompts, &[], &opts, &mut |_| {})).unwrap();
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        close_stats(&format!("prompt {i}"), &x.steps, &y.steps, 1e-4);
    }
}

fn examples(c: &ModelConfig) -> Vec<TokenExample> {
    [(6, 3), (11, 4), (4, 1), (9, 9), (13, 2)]
        .iter()
        .enumerate()
        .map(|(i, &(n, a))| TokenExample { ids: ids(100 + i as u64, n + a, c.vocab_size), n_prompt: n })
        .collect()
}

#[test]
fn coslow_lora_and_exact_match_cpu() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    for (name, c) in configs() {
        let Some((cpu, gpu)) = backends(&c, 5) else { return };
        let ex = examples(&c);
        for variant in [GradVariant::Lora, GradVariant::Exact] {
            let opts = LoraOptions {
                variant,
                rank: 4,
                // The CPU in packs of about two examples (the GPU pads its own batches).
                pack_tokens: 20,
                ..Default::default()
            };
            let a = block_on(labelcast_engine::coslow::coslow(&cpu, &ex, &[0], &opts, &mut |_| {})).unwrap();
            // And within an activation budget no batch fits: each example alone, each layer
            // computed again.
            let alone = LoraOptions { pack_bytes: Some(1), ..opts.clone() };
            assert_eq!(gpu.grad_packs(&ex, &alone).len(), ex.len());
            for (opts, budget) in [(&opts, "no budget"), (&alone, "1-byte budget")] {
                let b = block_on(labelcast_engine::coslow::coslow(&gpu, &ex, &[0], opts, &mut |_| {})).unwrap();
                let what = format!("{name} {variant:?} {budget}");
                assert!((a.coslow - b.coslow).abs() < 2e-4, "{what}: CoS-Low cpu {} gpu {}", a.coslow, b.coslow);
                for (i, (ra, rb)) in a.cosines.iter().zip(&b.cosines).enumerate() {
                    for (j, (x, y)) in ra.iter().zip(rb).enumerate() {
                        assert!((x - y).abs() < 2e-4, "{what}: cosine ({i},{j}) cpu {x} gpu {y}");
                    }
                }
                for (i, (x, y)) in a.losses.iter().zip(&b.losses).enumerate() {
                    assert!((x - y).abs() < 1e-4, "{what}: loss {i} cpu {x} gpu {y}");
                }
            }
        }
    }
}

/// The GPU gradient store split over many column blocks (a projection's gradient straddling
/// two of them, as a large model's store is split at the binding limit), exact and
/// count-sketched: its Gram and CoS-Low against the CPU store's.
#[test]
fn split_and_sketched_gpu_store_matches_cpu() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let c = llama();
    let Some((cpu, mut gpu)) = backends(&c, 7) else { return };
    let ex = examples(&c);
    let k = ex.len();
    let a = grad::LoraA::seeded(&c, 4, 8.0, 3).unwrap();
    let len = grad::lora_grad_len(&c, 4);
    // 37 columns per block: no block edge falls on a projection's edge.
    gpu.set_store_block_bytes((k * 37 * 4) as u64);
    for reduction in [Reduction::Exact, Reduction::for_budget(len, len / 3, 9)] {
        let (ca, ga) = (block_on(cpu.load_adapters(&a)).unwrap(), block_on(gpu.load_adapters(&a)).unwrap());
        let mut cs = block_on(cpu.grad_store(len, k, reduction)).unwrap();
        let mut gs = block_on(gpu.grad_store(len, k, reduction)).unwrap();
        assert_eq!(gs.blocks(), gs.width().div_ceil(37), "{reduction:?}");
        assert!(gs.blocks() > 10);
        // Two packs, the second into rows 2.. of the store.
        for r in [0..2, 2..k] {
            block_on(cpu.lora_gradients(r.start, &ex[r.clone()], &[0], None, &ca, &mut cs)).unwrap();
            block_on(gpu.lora_gradients(r.start, &ex[r.clone()], &[0], None, &ga, &mut gs)).unwrap();
        }
        let (x, y) = (block_on(cpu.gram(&cs)).unwrap(), block_on(gpu.gram(&gs)).unwrap());
        for i in 0..k {
            for j in 0..k {
                let scale = (x[i][i] * x[j][j]).sqrt();
                assert!(
                    (x[i][j] - y[i][j]).abs() < 1e-4 * scale,
                    "{reduction:?}: G[{i}][{j}] cpu {} gpu {}",
                    x[i][j],
                    y[i][j]
                );
            }
        }
        let (cx, cy) = (grad::cosines_from_gram(&x).unwrap(), grad::cosines_from_gram(&y).unwrap());
        let d = cx.iter().flatten().zip(cy.iter().flatten()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        eprintln!("{reduction:?}, {} blocks: max cosine diff {d:.2e}", gs.blocks());
        assert!(d < 2e-4, "{reduction:?}: cosines differ by {d}");
    }
    // CoS-Low through the engine's path, sketched, on the split store.
    let opts = LoraOptions { rank: 4, budget: len / 3, pack_tokens: 20, ..Default::default() };
    let p = block_on(labelcast_engine::coslow::coslow(&cpu, &ex, &[0], &opts, &mut |_| {})).unwrap();
    let q = block_on(labelcast_engine::coslow::coslow(&gpu, &ex, &[0], &opts, &mut |_| {})).unwrap();
    assert_eq!(p.reduction, q.reduction);
    assert!(matches!(q.reduction, Some(Reduction::Sketch { .. })));
    assert!((p.coslow - q.coslow).abs() < 2e-4, "sketched CoS-Low cpu {} gpu {}", p.coslow, q.coslow);
}

#[test]
fn gradient_errors_name_the_example() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    let c = llama();
    let Some((_, gpu)) = backends(&c, 5) else { return };
    let mut ex = examples(&c);
    ex[2].n_prompt = ex[2].ids.len(); // no answer token
    let e = block_on(labelcast_engine::coslow::coslow(
        &gpu,
        &ex,
        &[],
        &LoraOptions { rank: 4, ..Default::default() },
        &mut |_| {},
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("example 3"), "{e}");
}

/// Above an activation limit the GPU keeps only each layer's input and computes the layer
/// again in the backward pass: the same kernels on the same inputs, so the same gradients bit
/// for bit, LoRA and exact, while the pool holds less. The same for the loss in blocks.
#[test]
fn computing_layers_again_gives_the_same_gradients_bit_for_bit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|p| p.into_inner());
    // Wide enough that the pool's size classes do not hide the estimate's terms.
    let c = ModelConfig {
        vocab_size: 300,
        hidden_size: 128,
        intermediate_size: 320,
        num_layers: 8,
        num_heads: 8,
        num_kv_heads: 2,
        head_dim: 16,
        max_position_embeddings: 256,
        ..qwen2()
    };
    let ex: Vec<TokenExample> = [(60, 20), (90, 30), (40, 40)]
        .iter()
        .enumerate()
        .map(|(i, &(n, a))| TokenExample { ids: ids(200 + i as u64, n + a, c.vocab_size), n_prompt: n })
        .collect();
    let a = grad::LoraA::seeded(&c, 4, 8.0, 3).unwrap();
    let len = grad::lora_grad_len(&c, 4);
    let t = ex.iter().map(|e| e.ids.len()).max().unwrap();
    let answers: usize = ex.iter().map(TokenExample::answer_len).sum();
    let run = |limit: Option<u64>, loss_block: u64| {
        let (_, mut gpu) = backends(&c, 11)?;
        gpu.set_loss_block_bytes(loss_block);
        let before = gpu.gpu().pool_stats().bytes_allocated;
        let adapters = block_on(gpu.load_adapters(&a)).unwrap();
        let mut kept = block_on(gpu.grad_store(len, ex.len(), Reduction::Exact)).unwrap();
        let losses = block_on(gpu.lora_gradients(0, &ex, &[0], limit, &adapters, &mut kept)).unwrap();
        let gram = block_on(gpu.gram(&kept)).unwrap();
        let mut store = grad::ExactStore::new(c.num_layers);
        let exact = block_on(gpu.exact_factors(0, &ex, &[0], limit, &mut store)).unwrap();
        let factors =
            store.factors(2, 0, labelcast_engine::model::Proj::Up).map(|(x, dy)| (flat(x), flat(dy))).unwrap();
        let pooled = gpu.gpu().pool_stats().bytes_allocated - before;
        Some(((losses, gram, exact, factors), pooled))
    };
    let Some((kept, kept_bytes)) = run(None, u64::MAX) else { return };
    let (again, again_bytes) = run(Some(1), u64::MAX).unwrap();
    assert!(kept == again, "computing layers again changed the gradients");
    // The loss's logits 30 rows at a time (a large vocabulary within a binding limit), three
    // blocks of the 90 answer tokens: the blocks' rows are disjoint, so the same bits too
    // (blocks of at most MATVEC_MAX_ROWS would take the matvec kernel: the same up to rounding).
    assert_eq!(answers, 90);
    let (blocked, _) = run(None, 30 * 4 * c.vocab_size as u64).unwrap();
    assert!(kept == blocked, "the loss in blocks changed the gradients");
    let estimate = |checkpoint| grad_bytes(&c, ex.len(), t, answers, checkpoint);
    eprintln!(
        "pool: {kept_bytes} B every layer kept (estimate {}), {again_bytes} B computed again (estimate {})",
        estimate(false),
        estimate(true)
    );
    assert!(again_bytes * 3 < kept_bytes, "{again_bytes} against {kept_bytes}");
    // The estimate the packs are cut by, against what the pool allocated (its size classes
    // round each buffer up by at most an eighth).
    for (what, measured, checkpoint) in [("kept", kept_bytes, false), ("computed again", again_bytes, true)] {
        let ratio = measured as f64 / estimate(checkpoint) as f64;
        assert!((0.8..1.3).contains(&ratio), "{what}: pool {measured} B, estimate {}", estimate(checkpoint));
    }
}

fn flat(t: &candle_core::Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}
