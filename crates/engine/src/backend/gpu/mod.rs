//! The GPU backend: the same `Backend` as the CPU's, with the transformer math in WGSL
//! kernels (labelcast-gpu) on wgpu — WebGPU in the browser, Vulkan or Metal natively.
//! Weights stay in their file format on the GPU; each forward (or forward + backward) is
//! recorded into one command encoder and only results are read back.

mod backward;
mod forward;
mod store;
mod weights;

use candle_core::{Device, Tensor as Ct};
use labelcast_gpu::{AdapterSummary, Gpu, MatmulOpts, Tensor};
use labelcast_modelfile::{ModelConfig, ModelFile};

use super::{Backend, Prefill, StepStats};
use crate::error::Result;
use crate::grad::{lora_offset, ExactStore, LoraA, LoraOptions, Reduction, TokenExample};
use crate::model::{Proj, Weights};
pub use backward::gpu_batch_bytes;
use backward::{batches, example_rows, Batch, ProjHandler};
pub use forward::GpuCache;
pub use store::GpuGradStore;
pub use weights::gpu_weight_bytes;
use weights::GpuWeights;

/// Padded tokens (rows × longest row) per gradient batch: activations of SmolLM2-135M take
/// ~40 KB a token, so 512 tokens stay near 20 MB per layer.
pub const GRAD_BATCH_TOKENS: usize = 512;

/// What CoS-Low of `examples` examples adds on the GPU beside the weights, at most: the kept
/// gradients (the whole LoRA-B gradient, or `opts`' per-example budget where smaller) and one
/// full batch's activations within `opts.pack_bytes`, every token an answer's. With the weights
/// (`gpu_weight_bytes`), what a page states before loading.
pub fn gpu_coslow_bytes(c: &ModelConfig, examples: usize, opts: &LoraOptions) -> u64 {
    let row = crate::grad::lora_grad_len(c, opts.rank).min(opts.per_example_budget(examples));
    let t = GRAD_BATCH_TOKENS;
    let every_layer = gpu_batch_bytes(c, 1, t, t, false);
    let batch = match opts.pack_bytes {
        Some(max) if every_layer > max => gpu_batch_bytes(c, 1, t, t, true).min(max),
        _ => every_layer,
    };
    4 * row as u64 * examples as u64 + batch
}

pub struct GpuBackend {
    gpu: Gpu,
    config: ModelConfig,
    w: GpuWeights,
    /// Largest column block of the gradient store, in bytes (the adapter's binding limit
    /// applies too); smaller only to test stores split over many blocks.
    store_block_bytes: u64,
    /// Largest block of the loss's logits, in bytes (the adapter's binding limit applies too);
    /// smaller only to test a loss computed in many blocks, as a large vocabulary's is.
    loss_block_bytes: u64,
}

impl std::fmt::Debug for GpuBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GpuBackend").field("adapter", self.gpu.adapter()).finish()
    }
}

/// LoRA A matrices on the GPU, [r, in] per layer and projection.
pub struct GpuAdapters {
    a: Vec<Vec<Tensor>>,
    rank: usize,
    scale: f32,
}

impl GpuBackend {
    /// Uploads a model file's tensors as they are stored (quantized blocks included).
    pub fn from_model_file(gpu: Gpu, file: &ModelFile) -> Result<Self> {
        let w = GpuWeights::from_model_file(&gpu, file)?;
        gpu.check()?;
        Ok(GpuBackend { config: file.config.clone(), gpu, w, store_block_bytes: u64::MAX, loss_block_bytes: u64::MAX })
    }

    /// Uploads f32 weights (test models, or the CPU backend's weights).
    pub fn from_weights(gpu: Gpu, weights: &Weights) -> Result<Self> {
        let w = GpuWeights::from_weights(&gpu, weights)?;
        gpu.check()?;
        Ok(GpuBackend {
            config: weights.config.clone(),
            gpu,
            w,
            store_block_bytes: u64::MAX,
            loss_block_bytes: u64::MAX,
        })
    }

    pub fn adapter(&self) -> &AdapterSummary {
        self.gpu.adapter()
    }

    pub fn gpu(&self) -> &Gpu {
        &self.gpu
    }

    /// Caps each column block of the LoRA gradient store at `bytes` (at least one column):
    /// for tests of a store split over many buffers, as a large model's is.
    pub fn set_store_block_bytes(&mut self, bytes: u64) {
        self.store_block_bytes = bytes;
    }

    /// Caps each block of the loss's logits at `bytes` (at least one row): for tests of a loss
    /// computed in many blocks, as a large vocabulary's is within a binding limit.
    pub fn set_loss_block_bytes(&mut self, bytes: u64) {
        self.loss_block_bytes = bytes;
    }

    /// Whether a batch keeps only each layer's input, its activations over `limit` otherwise.
    fn checkpoint(&self, batch: &[TokenExample], limit: Option<u64>) -> bool {
        let t = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let answers = batch.iter().map(TokenExample::answer_len).sum();
        limit.is_some_and(|max| gpu_batch_bytes(&self.config, batch.len(), t, answers, false) > max)
    }

    /// The logits [len, vocab] of one sequence, row-major (for parity tests and tools).
    pub async fn logits(&self, ids: &[u32]) -> Result<Vec<f32>> {
        let mut cache = GpuCache::new(vec![0]);
        let hidden = self.forward(ids, &mut cache, None)?;
        let logits = self.gpu.linear_q(&hidden, self.w.output(), None)?;
        Ok(self.gpu.read_f32(&logits).await?)
    }

    async fn stats(&self, last: &Tensor) -> Result<Vec<StepStats>> {
        let logits = self.gpu.linear_q(last, self.w.output(), None)?;
        let (arg, st) = self.gpu.logit_stats(&logits)?;
        let arg = self.gpu.read_u32(&arg).await?;
        let st = self.gpu.read_f32(&st).await?;
        Ok(arg
            .iter()
            .zip(st.chunks_exact(3))
            .map(|(&token, s)| StepStats { token, p_max: s[0] as f64, p_second: s[1] as f64, entropy: s[2] as f64 })
            .collect())
    }
}

struct LoraHandler<'a> {
    adapters: &'a GpuAdapters,
    config: &'a ModelConfig,
    b: usize,
    t: usize,
    /// Store row of this batch's first example.
    row0: usize,
    store: &'a mut GpuGradStore,
}

impl ProjHandler for LoraHandler<'_> {
    fn record(&mut self, gpu: &Gpu, l: usize, p: Proj, x: &Tensor, dy: &Tensor) -> Result<()> {
        let (out, inp) = p.shape(self.config);
        let (b, t) = (self.b, self.t);
        // X Aᵀ per row [B, t, r], then scale · dYᵀ (X Aᵀ) per example [B, out, r], kept in
        // the store on the GPU (copied, or sketched) right away.
        let xa = gpu.matmul(
            &x.reshape(&[b, t, inp])?,
            &self.adapters.a[l][p.index()],
            MatmulOpts { trans_b: true, ..Default::default() },
        )?;
        let grad = gpu.matmul(
            &dy.reshape(&[b, t, out])?,
            &xa,
            MatmulOpts { trans_a: true, alpha: self.adapters.scale, ..Default::default() },
        )?;
        let off = lora_offset(self.config, self.adapters.rank, l, p);
        self.store.add(gpu, off, &grad, self.row0)
    }

    async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        // Nothing to read back. Submitting each layer's work (without waiting) keeps
        // command buffers short, as the read-backs used to, for drivers that time out
        // long submissions.
        Ok(gpu.submit()?)
    }
}

struct ExactHandler<'a> {
    store: &'a mut ExactStore,
    /// Store index of this batch's first example.
    base: usize,
    batch: Batch,
    pending: Vec<(usize, Proj, Tensor, Tensor)>,
}

impl ProjHandler for ExactHandler<'_> {
    fn record(&mut self, _: &Gpu, l: usize, p: Proj, x: &Tensor, dy: &Tensor) -> Result<()> {
        self.pending.push((l, p, x.clone(), dy.clone()));
        Ok(())
    }

    async fn flush(&mut self, gpu: &Gpu) -> Result<()> {
        for (l, p, x, dy) in std::mem::take(&mut self.pending) {
            let (xs, ds) = (x.shape()[1], dy.shape()[1]);
            let (xv, dv) = (gpu.read_f32(&x).await?, gpu.read_f32(&dy).await?);
            for b in 0..self.batch.pad.len() {
                let r = example_rows(&self.batch, b);
                let n = r.len();
                let xe = Ct::from_slice(&xv[r.start * xs..r.end * xs], (n, xs), &Device::Cpu)?;
                let de = Ct::from_slice(&dv[r.start * ds..r.end * ds], (n, ds), &Device::Cpu)?;
                self.store.put(self.base + b, l, p, &xe, &de);
            }
        }
        Ok(())
    }
}

impl Backend for GpuBackend {
    type Cache = GpuCache;
    type Adapters = GpuAdapters;
    type GradStore = GpuGradStore;

    fn config(&self) -> &ModelConfig {
        &self.config
    }

    async fn prefill(&self, rows: &[Vec<u32>]) -> Result<(GpuCache, Prefill)> {
        assert!(rows.iter().all(|r| !r.is_empty()), "prefill needs non-empty rows");
        let g = &self.gpu;
        let b = rows.len();
        let t = rows.iter().map(Vec::len).max().unwrap_or(0);
        let pad: Vec<usize> = rows.iter().map(|r| t - r.len()).collect();
        let mut ids = Vec::with_capacity(b * t);
        for (r, &p) in rows.iter().zip(&pad) {
            ids.extend(std::iter::repeat_n(0u32, p));
            ids.extend_from_slice(r);
        }
        let mut cache = GpuCache::new(pad.clone());
        let hidden = self.forward(&ids, &mut cache, None)?;
        let last: Vec<usize> = (0..b).map(|r| r * t + t - 1).collect();
        let stats = self.stats(&g.gather_rows(&hidden, &last)?).await?;
        // Mean over each row's own positions, as one product with an averaging matrix.
        let mut avg = vec![0f32; b * b * t];
        for (r, (row, &p)) in rows.iter().zip(&pad).enumerate() {
            let w = 1.0 / row.len() as f32;
            avg[r * b * t + r * t + p..r * b * t + (r + 1) * t].fill(w);
        }
        let avg = g.upload_f32(&avg, &[b, b * t])?;
        let emb = g.read_f32(&g.matmul(&avg, &hidden, MatmulOpts::default())?).await?;
        let h = self.config.hidden_size;
        let embeddings = emb.chunks_exact(h).map(<[f32]>::to_vec).collect();
        Ok((cache, Prefill { stats, embeddings }))
    }

    async fn decode(&self, cache: &mut GpuCache, tokens: &[u32]) -> Result<Vec<StepStats>> {
        let hidden = self.forward(tokens, cache, None)?;
        self.stats(&hidden).await
    }

    async fn retain(&self, cache: &mut GpuCache, rows: &[usize]) -> Result<()> {
        cache.retain(&self.gpu, rows)
    }

    async fn load_adapters(&self, a: &LoraA) -> Result<GpuAdapters> {
        let mut layers = Vec::with_capacity(a.a.len());
        for layer in &a.a {
            let mut v = Vec::with_capacity(7);
            for t in layer {
                let data = t.to_dtype(candle_core::DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
                v.push(self.gpu.upload_static(
                    "LoRA A",
                    bytemuck::cast_slice(&data),
                    t.dims(),
                    labelcast_gpu::DType::F32,
                )?);
            }
            layers.push(v);
        }
        Ok(GpuAdapters { a: layers, rank: a.rank, scale: a.scale as f32 })
    }

    async fn grad_store(&self, full_len: usize, examples: usize, reduction: Reduction) -> Result<GpuGradStore> {
        GpuGradStore::new(&self.gpu, full_len, examples, reduction, self.store_block_bytes)
    }

    /// Padded batches of at most `GRAD_BATCH_TOKENS` (rows × longest row) and, where
    /// `opts.pack_bytes` is given, whose activations fit it with each layer computed again:
    /// each pack is one batch, run by `lora_gradients` and `exact_factors` as it comes.
    fn grad_packs(&self, examples: &[TokenExample], opts: &LoraOptions) -> Vec<std::ops::Range<usize>> {
        let c = &self.config;
        batches(examples, GRAD_BATCH_TOKENS, |rows, t, answers| {
            opts.pack_bytes.is_none_or(|max| gpu_batch_bytes(c, rows, t, answers, true) <= max)
        })
    }

    /// One row of a padded batch.
    fn pack_bytes(&self, tokens: usize, answers: usize, again: bool) -> u64 {
        gpu_batch_bytes(&self.config, 1, tokens, answers, again)
    }

    async fn lora_gradients(
        &self,
        first_index: usize,
        batch: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        adapters: &GpuAdapters,
        store: &mut GpuGradStore,
    ) -> Result<Vec<f64>> {
        let mut h = LoraHandler {
            adapters,
            config: &self.config,
            b: batch.len(),
            t: batch.iter().map(|e| e.ids.len()).max().unwrap_or(0),
            row0: first_index,
            store,
        };
        let checkpoint = self.checkpoint(batch, activation_limit);
        Ok(self.backward(first_index, batch, excluded, checkpoint, &mut h).await?.1)
    }

    async fn gram(&self, store: &GpuGradStore) -> Result<Vec<Vec<f64>>> {
        store.gram(&self.gpu).await
    }

    async fn exact_factors(
        &self,
        first_index: usize,
        batch: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        store: &mut ExactStore,
    ) -> Result<Vec<f64>> {
        let t = batch.iter().map(|e| e.ids.len()).max().unwrap_or(0);
        let base = store.add_examples(batch.len());
        let mut h = ExactHandler {
            store,
            base,
            batch: Batch { t, pad: batch.iter().map(|e| t - e.ids.len()).collect() },
            pending: Vec::new(),
        };
        let checkpoint = self.checkpoint(batch, activation_limit);
        Ok(self.backward(first_index, batch, excluded, checkpoint, &mut h).await?.1)
    }
}
