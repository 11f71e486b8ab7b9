//! The transformer on the CPU (candle): llama-family and Qwen2 decoders, batched with
//! left padding, with the shared layout's KV cache for generation.

use candle_core::{Device, Tensor};

use super::layer::{LayerActs, StepCtx};
use super::model::{LoraLayer, Model};
use super::ops::rms_norm;
use crate::error::Result;
use crate::model::{rope_tables, KvCache, MASKED};

/// Activations of a whole forward pass of one sequence, for the backward pass.
#[derive(Debug, Clone, Default)]
pub struct ModelActs {
    pub layers: Vec<LayerActs>,
    /// Input of the final norm [T, H] and its 1/rms [T, 1].
    pub final_in: Option<Tensor>,
    pub final_inv: Option<Tensor>,
    /// Rotary position of every token.
    pub positions: Vec<usize>,
}

impl Model {
    /// Runs `ids` (B rows of t tokens each, row-major, left padding as recorded in `cache`)
    /// after whatever the cache holds, and returns the final-normed hidden states [B*t, H].
    /// `acts` (batch of one only) records what the backward pass needs; `lora` adds LoRA
    /// branches (one per layer).
    pub fn forward(
        &self,
        ids: &[u32],
        cache: &mut KvCache,
        acts: Option<&mut ModelActs>,
        lora: Option<&[LoraLayer]>,
    ) -> Result<Tensor> {
        let b = cache.rows();
        assert!(b > 0 && !ids.is_empty() && ids.len() % b == 0, "forward: {} ids for {b} rows", ids.len());
        let t = ids.len() / b;
        let (positions, mask) = cache.step_layout(t, self.config().sliding_window);
        self.run(ids, positions, mask, cache, acts, lora)
    }

    /// Runs several sequences packed into one row (`lens` tokens each, in order): each one
    /// attends only to itself (and only to its last `sliding_window` tokens, if the model has a
    /// window) and its positions start at 0, so the result equals separate runs, while every
    /// projection is one matrix product over all their tokens. The gradients use this pass.
    pub fn forward_packed(
        &self,
        ids: &[u32],
        lens: &[usize],
        acts: Option<&mut ModelActs>,
        lora: Option<&[LoraLayer]>,
    ) -> Result<Tensor> {
        let t: usize = lens.iter().sum();
        assert_eq!(t, ids.len(), "forward_packed: lengths do not add up");
        let window = self.config().sliding_window.unwrap_or(usize::MAX);
        let mut positions = Vec::with_capacity(t);
        let mut mask = vec![MASKED as f32; t * t];
        let mut start = 0;
        for &len in lens {
            for i in 0..len {
                positions.push(i);
                let row = start + i;
                let first = start + (i + 1).saturating_sub(window);
                mask[row * t + first..=row * t + row].fill(0.0);
            }
            start += len;
        }
        self.run(ids, positions, mask, &mut KvCache::new(vec![0]), acts, lora)
    }

    fn run(
        &self,
        ids: &[u32],
        positions: Vec<usize>,
        mask: Vec<f32>,
        cache: &mut KvCache,
        mut acts: Option<&mut ModelActs>,
        lora: Option<&[LoraLayer]>,
    ) -> Result<Tensor> {
        let c = &self.weights.config;
        let b = cache.rows();
        assert!(acts.is_none() || b == 1, "activations are recorded for one row at a time");
        let t = ids.len() / b;
        let keys = cache.len + t;
        let dtype = self.weights.dtype();
        let (cos, sin) = rope_tables(&positions, &c.rope_inv_freq(), dtype)?;
        let ctx = StepCtx {
            b,
            t,
            cos: cos.reshape((b, t, 1, c.head_dim))?,
            sin: sin.reshape((b, t, 1, c.head_dim))?,
            mask: Tensor::from_vec(mask, (b, 1, t, keys), &Device::Cpu)?.to_dtype(dtype)?,
        };
        let mut x = self.weights.embed.lookup(ids)?;
        for l in 0..c.num_layers {
            let layer_acts = acts.as_deref_mut().map(|a| &mut a.layers);
            x = self.layer_forward(l, &x, &ctx, cache, layer_acts, lora.map(|lo| &lo[l]))?;
        }
        cache.len += t;
        let (y, inv) = rms_norm(&x, &self.weights.norm, c.rms_norm_eps)?;
        if let Some(a) = acts {
            a.final_in = Some(x);
            a.final_inv = Some(inv);
            a.positions = positions;
        }
        Ok(y)
    }

    /// Logits [N, vocab] of final-normed hidden states [N, H].
    pub fn logits(&self, hidden: &Tensor) -> Result<Tensor> {
        self.weights.output().forward(hidden)
    }

    /// `logits` with the output layer dequantized, as gradients need (see `Matrix`).
    pub fn logits_exact(&self, hidden: &Tensor) -> Result<Tensor> {
        self.weights.output().forward_exact(hidden)
    }
}
