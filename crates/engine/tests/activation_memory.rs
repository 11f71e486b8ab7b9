//! The CPU backward's activation estimate against what it really allocates: a counting
//! allocator follows the live bytes while one pack's gradients are computed, on a model whose
//! matrices are kept quantized (as a 7B+ model's are). `activation_bytes` and
//! `checkpointed_bytes` are what `--activation-memory` is held to, so they must bound the peak.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{block_on, ids};
use labelcast_engine::backend::{Backend, CpuBackend};
use labelcast_engine::grad::{
    activation_bytes, checkpointed_bytes, lora_grad_len, GradStore, LoraA, Reduction, TokenExample,
};
use labelcast_engine::model::{CpuWeights, Matrix, Weights};
use labelcast_modelfile::testing::{random_weights, write_gguf};
use labelcast_modelfile::{Architecture, ModelConfig, ModelFile, TensorType};

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Ordering::Relaxed) + by;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        System.dealloc(p, layout);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let q = System.realloc(p, layout, new_size);
        if !q.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        q
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Wide enough for the activations to dominate small allocations, small enough for a debug
/// test; grouped-query attention (8 query heads on 2 KV heads).
fn llama() -> ModelConfig {
    ModelConfig {
        hidden_size: 256,
        intermediate_size: 768,
        num_layers: 4,
        num_heads: 8,
        num_kv_heads: 2,
        head_dim: 32,
        vocab_size: 3000,
        tie_word_embeddings: false,
        max_position_embeddings: 512,
        ..labelcast_modelfile::testing::tiny_config(Architecture::Llama)
    }
}

/// Qwen2.5-14B's proportions scaled down: an MLP 2.7 times the width, 5 query heads per KV
/// head, q/k/v biases, a tied output layer.
fn qwen_like() -> ModelConfig {
    ModelConfig {
        arch: Architecture::Qwen2,
        hidden_size: 320,
        intermediate_size: 864,
        num_heads: 10,
        num_kv_heads: 2,
        tie_word_embeddings: true,
        ..llama()
    }
}

/// Peak live bytes above what was live before, while one pack's LoRA gradients are computed.
fn peak_of(backend: &CpuBackend, exs: &[TokenExample], limit: Option<u64>, a: &LoraA, len: usize) -> u64 {
    let mut kept = GradStore::new(len, exs.len(), Reduction::Exact);
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    block_on(backend.lora_gradients(0, exs, &[], limit, a, &mut kept)).unwrap();
    (PEAK.load(Ordering::Relaxed) - before) as u64
}

/// One test in this binary: the counter is global, so nothing may run beside it.
#[test]
fn the_estimates_bound_what_a_pack_allocates() {
    let cases = [
        ("llama, Q8_0", llama(), Some(TensorType::Q8_0), 80, 4),
        ("llama, Q8_0, short packs", llama(), Some(TensorType::Q8_0), 40, 4),
        ("llama, Q8_0, every token an answer's", llama(), Some(TensorType::Q8_0), 60, 1),
        ("qwen-like, Q4_0", qwen_like(), Some(TensorType::Q4_0), 90, 3),
        ("qwen-like, dense", qwen_like(), None, 90, 3),
    ];
    for (name, c, ty, len, answer_share) in cases {
        let bytes = write_gguf(&c, &random_weights(&c, 11), |name| match ty {
            Some(ty) if !name.ends_with("norm.weight") && !name.ends_with(".bias") => ty,
            _ => TensorType::F32,
        })
        .unwrap();
        let file = ModelFile::from_gguf("wide.gguf", bytes).unwrap();
        let kept = if ty.is_some() { CpuWeights::Quantized } else { CpuWeights::Dense };
        let weights = Weights::from_model_file_with(&file, kept).unwrap();
        let quantized = weights.layers.iter().all(|l| l.proj.iter().all(|m| matches!(m, Matrix::Quantized(_))));
        assert_eq!(quantized, ty.is_some(), "{name}");
        let backend = CpuBackend::new(weights);
        let a = LoraA::seeded(&c, 8, 16.0, 3).unwrap();
        let grad_len = lora_grad_len(&c, 8);
        // Five examples of len .. len + 40 tokens, the last 1/answer_share of each its answer.
        let exs: Vec<TokenExample> = (0..5)
            .map(|i| {
                let n = len + 10 * i;
                TokenExample { ids: ids(40 + i as u64, n, c.vocab_size), n_prompt: n - n / answer_share }
            })
            .collect();
        let t: usize = exs.iter().map(|e| e.ids.len()).sum();
        let answers: usize = exs.iter().map(TokenExample::answer_len).sum();
        let m = backend.model.estimate();
        assert_eq!(m.slice_floats > 0, quantized, "{name}");
        for (what, limit, estimate) in [
            ("every layer kept", None, activation_bytes(m, t, answers)),
            ("each layer computed again", Some(1), checkpointed_bytes(m, t, answers)),
        ] {
            let peak = peak_of(&backend, &exs, limit, &a, grad_len);
            let ratio = estimate as f64 / peak as f64;
            eprintln!("{name}, {t} tokens, {answers} answers, {what}: {peak} B, estimate {estimate} B ({ratio:.2}x)");
            assert!(peak <= estimate, "{name}, {what}: {peak} B allocated, estimate {estimate} B");
            // And not so loose that a budget buys much less than it could.
            assert!(ratio < 1.7, "{name}, {what}: estimate {ratio:.2} times the peak");
        }
    }
}
