//! The seam between the shared pipeline (tokenization, batching, statistics, cosines) and
//! the transformer math: the CPU backend (candle) and the GPU backend (wgpu, WGSL kernels)
//! implement the same trait, so `Engine` and everything above it are backend-agnostic.
//! Methods are async because GPU read-backs are; on the CPU they complete at once.

pub mod cpu;
pub mod gpu;

use labelcast_modelfile::ModelConfig;

use crate::error::Result;
use crate::grad::{ExactStore, LoraA, TokenExample};

pub use cpu::CpuBackend;
pub use gpu::GpuBackend;

/// What the next-token distribution at one position says, all a scorer needs (the full
/// logits never leave the backend).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepStats {
    /// The greedy (argmax) token.
    pub token: u32,
    /// Its probability (the max of the softmax).
    pub p_max: f64,
    /// The second-largest probability.
    pub p_second: f64,
    /// Entropy of the distribution, in nats.
    pub entropy: f64,
}

/// What prefilling a batch of prompts gives back.
#[derive(Debug, Clone)]
pub struct Prefill {
    /// Next-token statistics after each prompt's last token.
    pub stats: Vec<StepStats>,
    /// Mean over each prompt's positions of the last hidden state after the final norm.
    pub embeddings: Vec<Vec<f32>>,
}

/// Receives one block of an example's flattened LoRA-B gradient: (example's index in the
/// pack, offset in its flattened gradient, values).
pub type BlockSink<'a> = dyn FnMut(usize, usize, &[f32]) -> Result<()> + 'a;

/// The transformer math of one loaded model.
#[allow(async_fn_in_trait)] // single-threaded on wasm; native callers block on these futures
pub trait Backend {
    /// The keys and values of a batch being generated.
    type Cache;
    /// LoRA A matrices as this backend keeps them (uploaded once on a GPU).
    type Adapters;

    fn config(&self) -> &ModelConfig;

    /// Runs a batch of prompts (token ids, any lengths, each at most the context).
    async fn prefill(&self, rows: &[Vec<u32>]) -> Result<(Self::Cache, Prefill)>;

    /// Feeds one token per row of the cache and returns the next-token statistics.
    async fn decode(&self, cache: &mut Self::Cache, tokens: &[u32]) -> Result<Vec<StepStats>>;

    /// Keeps only these rows of the cache, in this order (finished rows stop costing).
    async fn retain(&self, cache: &mut Self::Cache, rows: &[usize]) -> Result<()>;

    async fn load_adapters(&self, a: &LoraA) -> Result<Self::Adapters>;

    /// The LoRA-B gradients (METHOD 1d) of a pack of examples, each computed as if alone,
    /// handed to `sink` block by block in the flattening order of `grad::lora_offset`.
    /// `first_index` numbers the examples in errors. Returns each example's loss.
    async fn lora_gradients(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        adapters: &Self::Adapters,
        sink: &mut BlockSink<'_>,
    ) -> Result<Vec<f64>>;

    /// Each example's (X, dY) for every projection (exact variant), appended to `store`.
    async fn exact_factors(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        store: &mut ExactStore,
    ) -> Result<Vec<f64>>;
}

/// Statistics of one logits row, computed in f64.
pub fn step_stats(logits: &[f32]) -> StepStats {
    let (mut best, mut second, mut arg) = (f32::NEG_INFINITY, f32::NEG_INFINITY, 0usize);
    for (i, &v) in logits.iter().enumerate() {
        if v > best {
            second = best;
            best = v;
            arg = i;
        } else if v > second {
            second = v;
        }
    }
    let m = best as f64;
    let (mut z, mut zl) = (0.0f64, 0.0f64);
    for &v in logits {
        let d = v as f64 - m;
        let e = d.exp();
        z += e;
        zl += e * d;
    }
    // H = -Σ p log p with p = e^d / z: H = ln z - Σ e d / z.
    StepStats {
        token: arg as u32,
        p_max: 1.0 / z,
        p_second: (second as f64 - m).exp() / z,
        entropy: z.ln() - zl / z,
    }
}
