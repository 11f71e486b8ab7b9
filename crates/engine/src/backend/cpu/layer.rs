//! One decoder layer: RMSNorm → attention (RoPE, grouped-query, masked) → residual →
//! RMSNorm → SiLU-gated MLP → residual. Optionally keeps the activations the hand-written
//! backward pass needs, and optionally adds a LoRA branch (used to check that backward
//! against candle's autograd).

use candle_core::Tensor;

use super::model::{LoraLayer, Model};
use super::ops::{linear, rms_norm, rotate_half, softmax_last};
use crate::error::Result;
use crate::model::{KvCache, Proj};

/// Per-call context shared by all layers.
#[derive(Debug, Clone)]
pub struct StepCtx {
    pub b: usize,
    pub t: usize,
    /// [B, t, 1, head_dim], broadcast over heads.
    pub cos: Tensor,
    pub sin: Tensor,
    /// [B, 1, t, keys], additive.
    pub mask: Tensor,
}

/// What the backward pass of one layer needs (batch of one sequence, T tokens).
#[derive(Debug, Clone)]
pub struct LayerActs {
    /// 1/rms of the layer input [T, 1] and the normed input [T, H] (the X of q, k, v).
    pub inv1: Tensor,
    pub x_in: Tensor,
    pub h1: Tensor,
    /// After RoPE: q [nh, T, hd], k [nkv, T, hd]; v [nkv, T, hd].
    pub q: Tensor,
    pub k: Tensor,
    pub v: Tensor,
    /// Attention probabilities [nh, T, T].
    pub probs: Tensor,
    /// Attention output before o_proj [T, nh*hd] (the X of o).
    pub attn: Tensor,
    /// Residual stream after attention [T, H], its 1/rms and the normed value (X of gate, up).
    pub x_mid: Tensor,
    pub inv2: Tensor,
    pub h2: Tensor,
    /// gate and up projections [T, I] and silu(gate) * up (the X of down).
    pub gate: Tensor,
    pub up: Tensor,
    pub act: Tensor,
}

impl Model {
    /// `exact`: W dequantized rather than multiplied in its blocks (gradients; see `Matrix`).
    fn project(&self, x: &Tensor, l: usize, p: Proj, lora: Option<&LoraLayer>, exact: bool) -> Result<Tensor> {
        let lw = &self.weights.layers[l];
        let mut y = if exact { lw.w(p).forward_exact(x)? } else { lw.w(p).forward(x)? };
        if let (Some(b), i @ 0..=2) = (&lw.qkv_bias, p.index()) {
            y = y.broadcast_add(&b[i])?;
        }
        if let Some(lo) = lora {
            let i = p.index();
            let branch = linear(&linear(x, &lo.a[i])?, &lo.b[i])?;
            y = (y + (branch * lo.scale)?)?;
        }
        Ok(y)
    }

    /// x: [B*t, H] → [B*t, H]. Without a `cache` the keys are this call's own tokens (one
    /// row, nothing before it: a pack of examples).
    pub(crate) fn layer_forward(
        &self,
        l: usize,
        x: &Tensor,
        ctx: &StepCtx,
        cache: Option<&mut KvCache>,
        acts: Option<&mut Vec<LayerActs>>,
        lora: Option<&LoraLayer>,
    ) -> Result<Tensor> {
        let c = &self.weights.config;
        let lw = &self.weights.layers[l];
        let (b, t) = (ctx.b, ctx.t);
        // Activations are recorded for a backward pass: gradients take the exact matmuls.
        let exact = acts.is_some();
        let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let g = nh / nkv;

        let (h1, inv1) = rms_norm(x, &lw.input_norm, c.rms_norm_eps)?;
        let rope = |y: Tensor, heads: usize| -> Result<Tensor> {
            let y = y.reshape((b, t, heads, hd))?;
            let y = (y.broadcast_mul(&ctx.cos)? + rotate_half(&y)?.broadcast_mul(&ctx.sin)?)?;
            Ok(y.transpose(1, 2)?.contiguous()?)
        };
        let q = rope(self.project(&h1, l, Proj::Q, lora, exact)?, nh)?;
        let k_new = rope(self.project(&h1, l, Proj::K, lora, exact)?, nkv)?;
        let v_new =
            self.project(&h1, l, Proj::V, lora, exact)?.reshape((b, t, nkv, hd))?.transpose(1, 2)?.contiguous()?;
        let (k, v) = match cache {
            Some(cache) => cache.append(l, k_new, v_new)?,
            None => (k_new, v_new),
        };
        let keys = k.dim(2)?;

        // Query heads sharing a KV head are stacked along the row axis, so one batched matmul
        // per KV head serves the whole group without repeating K and V.
        let qg = q.reshape((b, nkv, g * t, hd))?;
        // Each [heads, T, keys] tensor is dropped once the next is made (`grad::packs`).
        let probs = {
            let scaled = (qg.matmul(&k.t()?)? * (1.0 / (hd as f64).sqrt()))?;
            let masked = scaled.reshape((b, nh, t, keys))?.broadcast_add(&ctx.mask)?;
            drop(scaled);
            softmax_last(&masked)?
        };
        let o = probs.reshape((b, nkv, g * t, keys))?.matmul(&v)?;
        let attn = o.reshape((b, nh, t, hd))?.transpose(1, 2)?.contiguous()?.reshape((b * t, nh * hd))?;
        let x_mid = (x + self.project(&attn, l, Proj::O, lora, exact)?)?;

        let (h2, inv2) = rms_norm(&x_mid, &lw.post_norm, c.rms_norm_eps)?;
        let gate = self.project(&h2, l, Proj::Gate, lora, exact)?;
        let up = self.project(&h2, l, Proj::Up, lora, exact)?;
        let act = (gate.silu()? * &up)?;
        let out = (&x_mid + self.project(&act, l, Proj::Down, lora, exact)?)?;

        if let Some(acts) = acts {
            acts.push(LayerActs {
                inv1,
                x_in: x.clone(),
                h1,
                q: q.squeeze(0)?,
                k: k.squeeze(0)?,
                v: v.squeeze(0)?,
                probs: probs.squeeze(0)?,
                attn,
                x_mid,
                inv2,
                h2,
                gate,
                up,
                act,
            });
        }
        Ok(out)
    }
}
