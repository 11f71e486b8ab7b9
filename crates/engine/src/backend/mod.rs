//! The seam between the shared pipeline (tokenization, batching, statistics, cosines) and
//! the transformer math: the CPU backend (candle) and the GPU backend (wgpu, WGSL kernels)
//! implement the same trait, so `Engine` and everything above it are backend-agnostic.
//! Methods are async because GPU read-backs are; on the CPU they complete at once.

pub mod cpu;
pub mod gpu;

use labelcast_modelfile::ModelConfig;

use crate::error::Result;
use crate::grad::{ExactStore, LoraA, LoraOptions, Reduction, TokenExample};

pub use cpu::CpuBackend;
pub use gpu::GpuBackend;

pub use labelcast_core::token_stats::{step_stats, StepStats};

/// What prefilling a batch of prompts gives back.
#[derive(Debug, Clone)]
pub struct Prefill {
    /// Next-token statistics after each prompt's last token.
    pub stats: Vec<StepStats>,
    /// Mean over each prompt's positions of the last hidden state after the final norm.
    pub embeddings: Vec<Vec<f32>>,
}

fn split_on_cpu_only() -> crate::EngineError {
    crate::EngineError::Invalid("a CoS-Low run split between workers runs on the CPU backend only".into())
}

/// The transformer math of one loaded model.
#[allow(async_fn_in_trait)] // single-threaded on wasm; native callers block on these futures
pub trait Backend {
    /// The keys and values of a batch being generated.
    type Cache;
    /// LoRA A matrices as this backend keeps them (uploaded once on a GPU).
    type Adapters;
    /// The kept LoRA-B gradients of a CoS-Low run (exact or count-sketched, one row per
    /// example) where this backend computes them: host memory on the CPU, GPU buffers on
    /// the GPU, so that only their Gram matrix is ever read back.
    type GradStore;

    fn config(&self) -> &ModelConfig;

    /// Runs a batch of prompts (token ids, any lengths, each at most the context).
    async fn prefill(&self, rows: &[Vec<u32>]) -> Result<(Self::Cache, Prefill)>;

    /// Feeds one token per row of the cache and returns the next-token statistics.
    async fn decode(&self, cache: &mut Self::Cache, tokens: &[u32]) -> Result<Vec<StepStats>>;

    /// Keeps only these rows of the cache, in this order (finished rows stop costing).
    async fn retain(&self, cache: &mut Self::Cache, rows: &[usize]) -> Result<()>;

    async fn load_adapters(&self, a: &LoraA) -> Result<Self::Adapters>;

    /// An empty store of `examples` rows for flattened gradients of `full_len` floats,
    /// kept as `reduction` says.
    async fn grad_store(&self, full_len: usize, examples: usize, reduction: Reduction) -> Result<Self::GradStore>;

    /// How CoS-Low splits its examples into the packs it hands to `lora_gradients` and
    /// `exact_factors`, decided here once per backend: the CPU packs examples on one token
    /// axis within `opts.pack_tokens` and `opts.pack_bytes` (`grad::packs`); the GPU pads them
    /// into batches of its own size.
    fn grad_packs(&self, examples: &[TokenExample], opts: &LoraOptions) -> Vec<std::ops::Range<usize>>;

    /// What one pack of `tokens` tokens, `answers` of them in the loss, keeps for the backward
    /// pass, in bytes: every layer's activations, or with `again` each layer's input and one
    /// layer's activations, computed again (the CPU's `grad::cpu_bytes`, the GPU's
    /// `gpu_batch_bytes`).
    fn pack_bytes(&self, tokens: usize, answers: usize, again: bool) -> u64;

    /// The LoRA-B gradients (METHOD 1d) of a pack of examples, each computed as if alone
    /// and flattened in the order of `grad::lora_offset`, kept in rows `first_index ..` of
    /// `store` (`first_index` also numbers the examples in errors). `activation_limit`: the
    /// activation memory the pack may take (`LoraOptions::pack_bytes`; the CPU's, which keeps
    /// less and computes more above it). Returns each example's loss.
    async fn lora_gradients(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        adapters: &Self::Adapters,
        store: &mut Self::GradStore,
    ) -> Result<Vec<f64>>;

    /// Example `ex`'s kept row (a worker computing part of a split run hands it on,
    /// `crate::coslow::coslow_send`). Only the CPU keeps rows where they can be read one by one.
    async fn kept_row(&self, _store: &Self::GradStore, _ex: usize) -> Result<Vec<f32>> {
        Err(split_on_cpu_only())
    }

    /// Sets example `ex`'s kept row to one another worker computed (`kept_row`'s values).
    async fn put_kept_row(&self, _store: &mut Self::GradStore, _ex: usize, _values: &[f32]) -> Result<()> {
        Err(split_on_cpu_only())
    }

    /// The Gram matrix (pairwise dot products, f64) of the store's rows.
    async fn gram(&self, store: &Self::GradStore) -> Result<Vec<Vec<f64>>>;

    /// One Gram per group of column ranges (`GradStore::gram_groups`), or `None` where the
    /// backend does not compute them (the GPU store, for now).
    async fn gram_groups(
        &self,
        _store: &Self::GradStore,
        _segments: &[(usize, usize, usize)],
        _groups: usize,
    ) -> Result<Option<Vec<Vec<Vec<f64>>>>> {
        Ok(None)
    }

    /// Each example's (X, dY) for every projection (exact variant), appended to `store`
    /// (`activation_limit` as for `lora_gradients`).
    async fn exact_factors(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        store: &mut ExactStore,
    ) -> Result<Vec<f64>>;
}
