//! The transformer on the CPU (candle): llama-family and Qwen2 decoders, batched with
//! left padding, with the shared layout's KV cache for generation.

use std::borrow::Cow;

use candle_core::{Device, Tensor};

use super::layer::{LayerActs, StepCtx};
use super::model::{LoraLayer, Model};
use super::ops::rms_norm;
use crate::error::Result;
use crate::model::{rope_tables, KvCache, MASKED};

/// Activations of a whole forward pass of one sequence, for the backward pass: every layer's
/// (`layers`), or with `checkpoint` only each layer's input (`inputs`) and the pass's context,
/// from which `layer_acts` computes a layer's again when the backward reaches it: for one
/// more forward pass, a ninth of the memory in a 14B model's 512-token pack
/// (`grad::checkpointed_bytes`).
#[derive(Debug, Clone, Default)]
pub struct ModelActs {
    pub checkpoint: bool,
    pub layers: Vec<LayerActs>,
    pub inputs: Vec<Tensor>,
    pub ctx: Option<StepCtx>,
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
        self.run(ids, positions, mask, Some(cache), acts, lora)
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
        self.run(ids, positions, mask, None, acts, lora)
    }

    fn run(
        &self,
        ids: &[u32],
        positions: Vec<usize>,
        mask: Vec<f32>,
        mut cache: Option<&mut KvCache>,
        mut acts: Option<&mut ModelActs>,
        lora: Option<&[LoraLayer]>,
    ) -> Result<Tensor> {
        let c = &self.weights.config;
        let (b, past) = cache.as_ref().map_or((1, 0), |c| (c.rows(), c.len));
        assert!(acts.is_none() || b == 1, "activations are recorded for one row at a time");
        let t = ids.len() / b;
        let keys = past + t;
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
            let lo = lora.map(|lo| &lo[l]);
            x = match acts.as_deref_mut() {
                Some(a) if a.checkpoint => {
                    a.inputs.push(x.clone());
                    // Recorded and dropped: the products stay the exact ones of a recorded pass.
                    self.layer_forward(l, &x, &ctx, cache.as_deref_mut(), Some(&mut Vec::new()), lo)?
                }
                a => self.layer_forward(l, &x, &ctx, cache.as_deref_mut(), a.map(|a| &mut a.layers), lo)?,
            };
        }
        if let Some(cache) = cache {
            cache.len += t;
        }
        let (y, inv) = rms_norm(&x, &self.weights.norm, c.rms_norm_eps)?;
        if let Some(a) = acts {
            if a.checkpoint {
                a.ctx = Some(ctx);
            }
            a.final_in = Some(x);
            a.final_inv = Some(inv);
            a.positions = positions;
        }
        Ok(y)
    }

    /// Layer `l`'s activations: as recorded, or computed again from its input (`checkpoint`;
    /// without LoRA branches, as the backward pass runs). The same products in the same order,
    /// so the same values.
    pub fn layer_acts<'a>(&self, acts: &'a ModelActs, l: usize) -> Result<Cow<'a, LayerActs>> {
        if !acts.checkpoint {
            return Ok(Cow::Borrowed(&acts.layers[l]));
        }
        let ctx = acts.ctx.as_ref().expect("a checkpointed pass keeps its context");
        let mut one = Vec::with_capacity(1);
        self.layer_forward(l, &acts.inputs[l], ctx, None, Some(&mut one), None)?;
        Ok(Cow::Owned(one.pop().expect("one layer recorded")))
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
