//! The CPU backend: candle tensors, f32 (f64 in gradient checks). Its forward pass
//! (`forward`, `layer`), the hand-written backward (`backward`) and their small ops mirror the
//! GPU backend's files.

pub mod backward;
pub mod forward;
pub mod fused;
pub mod layer;
pub mod model;
pub mod ops;

pub use backward::backward;
pub use forward::ModelActs;
pub use layer::LayerActs;
pub use model::{LoraLayer, Model};

use candle_core::{DType, Device, Tensor};
use labelcast_modelfile::ModelConfig;

use super::{step_stats, Backend, Prefill, StepStats};
use crate::error::Result;
use crate::grad::{
    cpu_bytes, lora_offset, packs, segments, ExactStore, GradStore, LoraA, LoraOptions, Reduction, TokenExample,
};
use crate::model::{KvCache, Weights};

#[derive(Debug, Clone)]
pub struct CpuBackend {
    pub model: Model,
}

impl CpuBackend {
    pub fn new(weights: Weights) -> Self {
        CpuBackend { model: Model::new(weights) }
    }

    fn stats_of(&self, hidden: &Tensor) -> Result<Vec<StepStats>> {
        let logits = self.model.logits(hidden)?.to_dtype(DType::F32)?.to_vec2::<f32>()?;
        Ok(logits.iter().map(|row| step_stats(row)).collect())
    }
}

impl Backend for CpuBackend {
    type Cache = KvCache;
    type Adapters = LoraA;
    type GradStore = GradStore;

    fn config(&self) -> &ModelConfig {
        self.model.config()
    }

    fn grad_packs(&self, examples: &[TokenExample], opts: &LoraOptions) -> Vec<std::ops::Range<usize>> {
        packs(self.model.estimate(), examples, opts.pack_tokens, opts.pack_bytes)
    }

    fn pack_bytes(&self, tokens: usize, answers: usize, again: bool) -> u64 {
        cpu_bytes(self.model.estimate())(tokens, answers, again)
    }

    async fn prefill(&self, rows: &[Vec<u32>]) -> Result<(KvCache, Prefill)> {
        assert!(rows.iter().all(|r| !r.is_empty()), "prefill needs non-empty rows");
        let h = self.model.config().hidden_size;
        // Prompts rendered with one chat template start alike (system prompt, headers): that
        // shared prefix runs once and its keys and values are copied to every row. Each row
        // keeps at least one token of its own, whose logits give its first step.
        let min_len = rows.iter().map(Vec::len).min().unwrap_or(0);
        let shared = if rows.len() > 1 {
            let first = &rows[0];
            (0..min_len - 1).take_while(|&i| rows.iter().all(|r| r[i] == first[i])).count()
        } else {
            0
        };
        let t = rows.iter().map(|r| r.len() - shared).max().unwrap_or(0);
        let pad: Vec<usize> = rows.iter().map(|r| t - (r.len() - shared)).collect();
        let mut prefix_sum = vec![0f64; h];
        let mut cache = if shared > 0 {
            let mut cache = KvCache::new(vec![0]);
            let hp = self.model.forward(&rows[0][..shared], &mut cache, None, None)?;
            for row in hp.to_dtype(DType::F32)?.to_vec2::<f32>()? {
                prefix_sum.iter_mut().zip(row).for_each(|(s, v)| *s += v as f64);
            }
            cache.expand(pad.clone())?;
            cache
        } else {
            KvCache::new(pad.clone())
        };
        let mut ids = Vec::with_capacity(rows.len() * t);
        for (r, &p) in rows.iter().zip(&pad) {
            ids.extend(std::iter::repeat_n(0u32, p));
            ids.extend_from_slice(&r[shared..]);
        }
        let hidden = self.model.forward(&ids, &mut cache, None, None)?;
        let last: Vec<u32> = (0..rows.len()).map(|r| (r * t + t - 1) as u32).collect();
        let stats = self.stats_of(&hidden.index_select(&Tensor::new(last.as_slice(), &Device::Cpu)?, 0)?)?;
        let all = hidden.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
        let embeddings = rows
            .iter()
            .zip(&pad)
            .enumerate()
            .map(|(r, (row, &p))| {
                let mut sum = prefix_sum.clone();
                for i in p..t {
                    let at = (r * t + i) * h;
                    sum.iter_mut().zip(&all[at..at + h]).for_each(|(s, &v)| *s += v as f64);
                }
                sum.iter().map(|s| (s / row.len() as f64) as f32).collect()
            })
            .collect();
        Ok((cache, Prefill { stats, embeddings }))
    }

    async fn decode(&self, cache: &mut KvCache, tokens: &[u32]) -> Result<Vec<StepStats>> {
        let hidden = self.model.forward(tokens, cache, None, None)?;
        self.stats_of(&hidden)
    }

    async fn retain(&self, cache: &mut KvCache, rows: &[usize]) -> Result<()> {
        cache.retain(rows)
    }

    async fn load_adapters(&self, a: &LoraA) -> Result<LoraA> {
        a.to_dtype(self.model.weights.dtype())
    }

    async fn grad_store(&self, full_len: usize, examples: usize, reduction: Reduction) -> Result<GradStore> {
        Ok(GradStore::new(full_len, examples, reduction))
    }

    async fn lora_gradients(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        adapters: &LoraA,
        store: &mut GradStore,
    ) -> Result<Vec<f64>> {
        let c = self.model.config();
        let segs = segments(examples);
        backward(&self.model, first_index, examples, excluded, activation_limit, &mut |l, p, x, dy| {
            // X Aᵀ once for the pack; then scale · dYᵀ (X Aᵀ) per example.
            let xa = x.matmul(&adapters.a[l][p.index()].t()?)?;
            for (i, &(start, len)) in segs.iter().enumerate() {
                let g = (dy.narrow(0, start, len)?.t()?.matmul(&xa.narrow(0, start, len)?)? * adapters.scale)?;
                store.add_block(
                    first_index + i,
                    lora_offset(c, adapters.rank, l, p),
                    &g.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
                );
            }
            Ok(())
        })
    }

    async fn kept_row(&self, store: &GradStore, ex: usize) -> Result<Vec<f32>> {
        Ok(store.row(ex).to_vec())
    }

    async fn put_kept_row(&self, store: &mut GradStore, ex: usize, values: &[f32]) -> Result<()> {
        store.set_row(ex, values)
    }

    async fn gram(&self, store: &GradStore) -> Result<Vec<Vec<f64>>> {
        store.gram()
    }

    async fn gram_groups(
        &self,
        store: &GradStore,
        segments: &[(usize, usize, usize)],
        groups: usize,
    ) -> Result<Option<Vec<Vec<Vec<f64>>>>> {
        store.gram_groups(segments, groups).map(Some)
    }

    async fn exact_factors(
        &self,
        first_index: usize,
        examples: &[TokenExample],
        excluded: &[u32],
        activation_limit: Option<u64>,
        store: &mut ExactStore,
    ) -> Result<Vec<f64>> {
        let segs = segments(examples);
        let base = store.add_examples(examples.len());
        backward(&self.model, first_index, examples, excluded, activation_limit, &mut |l, p, x, dy| {
            for (i, &(start, len)) in segs.iter().enumerate() {
                store.put(base + i, l, p, &x.narrow(0, start, len)?, &dy.narrow(0, start, len)?);
            }
            Ok(())
        })
    }
}
