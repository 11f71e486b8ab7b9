//! The forward pass on the GPU, op for op the CPU's `Model::run` (crates/engine/src/model):
//! embedding → per layer RMSNorm, q/k/v (+bias), RoPE, grouped-query attention over the KV
//! cache with the same additive mask, o_proj + residual, RMSNorm, SiLU-gated MLP + residual →
//! final RMSNorm. Masks and rotary tables are built on the host by the same code as the CPU
//! backend's (`KvCache::step_layout`, `rope_tables`), so both see identical inputs.

use labelcast_gpu::{DType, Gpu, Tensor};

use super::weights::GpuWeights;
use super::GpuBackend;
use crate::error::Result;
use crate::model::{rope_tables, KvCache, Proj};

/// Keys and values on the GPU ([B, nkv, cap, hd] per layer) and the host-side bookkeeping
/// of padding and positions, shared with the CPU backend.
pub struct GpuCache {
    pub(crate) layout: KvCache,
    pub(crate) k: Vec<Tensor>,
    pub(crate) v: Vec<Tensor>,
    pub(crate) cap: usize,
}

/// What the backward pass needs of one forward pass.
pub(crate) struct LayerRec {
    pub x_in: Tensor,
    pub inv1: Tensor,
    pub h1: Tensor,
    pub q: Tensor,
    pub probs: Tensor,
    pub attn: Tensor,
    pub x_mid: Tensor,
    pub inv2: Tensor,
    pub h2: Tensor,
    pub gate: Tensor,
    pub up: Tensor,
    pub act: Tensor,
}

/// What the backward pass keeps of one forward pass: every layer's `LayerRec`, or with
/// `checkpoint` only each layer's input, its `LayerRec` computed again (`GpuBackend::layer_rec`)
/// when the backward pass reaches it: one layer's activations at a time instead of all of them.
pub(crate) struct Recorded {
    pub checkpoint: bool,
    pub layers: Vec<LayerRec>,
    pub inputs: Vec<Tensor>,
    pub step: Option<Step>,
    pub final_in: Option<Tensor>,
    pub final_inv: Option<Tensor>,
}

impl Recorded {
    pub fn new(checkpoint: bool) -> Self {
        Recorded { checkpoint, layers: Vec::new(), inputs: Vec::new(), step: None, final_in: None, final_inv: None }
    }
}

/// What every layer of one step reads besides its input: the rotary tables, the mask and the
/// number of keys (the cache's columns after the step).
pub(crate) struct Step {
    pub cos: Tensor,
    pub sin: Tensor,
    mask: Tensor,
    keys: usize,
}

/// Extra cache columns allocated beyond the prompt: the default generation (30 tokens)
/// then never reallocates.
pub(crate) const SPARE_COLUMNS: usize = 32;

impl GpuCache {
    pub fn new(pad: Vec<usize>) -> Self {
        GpuCache { layout: KvCache::new(pad), k: Vec::new(), v: Vec::new(), cap: 0 }
    }

    pub fn rows(&self) -> usize {
        self.layout.rows()
    }

    /// Makes room for `t` more columns (copying what is stored into larger buffers).
    fn reserve(&mut self, gpu: &Gpu, layers: usize, nkv: usize, hd: usize, t: usize) -> Result<()> {
        let need = self.layout.len() + t;
        if need <= self.cap && self.k.len() == layers {
            return Ok(());
        }
        let cap = need + SPARE_COLUMNS;
        let b = self.rows();
        let used = self.layout.len();
        let grow = |old: Option<&Tensor>| -> Result<Tensor> {
            let new = gpu.zeros(&[b, nkv, cap, hd], DType::F32)?;
            if let Some(old) = old {
                let row = (hd * 4) as u64;
                for r in 0..b * nkv {
                    gpu.copy(old, (r * self.cap) as u64 * row, &new, (r * cap) as u64 * row, used as u64 * row)?;
                }
            }
            Ok(new)
        };
        let k = (0..layers).map(|l| grow(self.k.get(l))).collect::<Result<Vec<_>>>()?;
        let v = (0..layers).map(|l| grow(self.v.get(l))).collect::<Result<Vec<_>>>()?;
        (self.k, self.v, self.cap) = (k, v, cap);
        Ok(())
    }

    pub fn retain(&mut self, gpu: &Gpu, rows: &[usize]) -> Result<()> {
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = gpu.gather_rows(t, rows)?;
        }
        self.layout.retain(rows)
    }
}

impl GpuBackend {
    fn proj(&self, x: &Tensor, l: usize, p: Proj) -> Result<Tensor> {
        let lw = &self.w.layers[l];
        let bias = match (&lw.qkv_bias, p.index()) {
            (Some(b), i @ 0..=2) => Some(&b[i]),
            _ => None,
        };
        Ok(self.gpu.linear_q(x, &lw.proj[p.index()], bias)?)
    }

    /// Runs `ids` (B rows of t tokens, left padding as recorded in `cache`) after what the
    /// cache holds; returns the final-normed hidden states [B*t, H]. With `rec`, keeps what
    /// the backward pass needs.
    pub(crate) fn forward(&self, ids: &[u32], cache: &mut GpuCache, mut rec: Option<&mut Recorded>) -> Result<Tensor> {
        let c = &self.config;
        let g = &self.gpu;
        let w: &GpuWeights = &self.w;
        let b = cache.rows();
        let t = ids.len() / b;
        let (nkv, hd) = (c.num_kv_heads, c.head_dim);
        let (positions, mask) = cache.layout.step_layout(t, c.sliding_window);
        let keys = cache.layout.len() + t;
        cache.reserve(g, c.num_layers, nkv, hd, t)?;

        let (cos, sin) = rope_tables(&positions, &c.rope_inv_freq(), candle_core::DType::F32)?;
        let step = Step {
            cos: g.upload_f32(&cos.flatten_all()?.to_vec1::<f32>()?, &[b * t, hd])?,
            sin: g.upload_f32(&sin.flatten_all()?.to_vec1::<f32>()?, &[b * t, hd])?,
            mask: g.upload_f32(&mask, &[b, t, keys])?,
            keys,
        };
        let ids_t = g.upload_u32(ids, &[ids.len()])?;

        let mut x = g.embedding(&w.embed, &ids_t)?;
        for l in 0..c.num_layers {
            // The probabilities are computed with a checkpoint too, so that the attention
            // kernel takes the same path as when the layer is computed again.
            let (out, layer) = self.layer(l, &x, cache, &step, Some(cache.layout.len()), rec.is_some())?;
            match rec.as_deref_mut() {
                Some(r) if r.checkpoint => r.inputs.push(x),
                Some(r) => r.layers.push(layer.expect("recorded")),
                None => {}
            }
            x = out;
        }
        cache.layout.advance(t);
        let (y, inv) = g.rms_norm(&x, &w.norm, c.rms_norm_eps as f32)?;
        if let Some(r) = rec {
            r.final_in = Some(x);
            r.final_inv = Some(inv);
            r.step = Some(step);
        }
        Ok(y)
    }

    /// Layer `l` on input `x`: its output, and with `keep` what the backward pass needs of it.
    /// `kv_at`: the cache column where this step's keys and values are written (`None` where
    /// they already are: a layer computed again).
    fn layer(
        &self,
        l: usize,
        x: &Tensor,
        cache: &GpuCache,
        s: &Step,
        kv_at: Option<usize>,
        keep: bool,
    ) -> Result<(Tensor, Option<LayerRec>)> {
        let c = &self.config;
        let g = &self.gpu;
        let lw = &self.w.layers[l];
        let b = cache.rows();
        let (nh, nkv, hd) = (c.num_heads, c.num_kv_heads, c.head_dim);
        let eps = c.rms_norm_eps as f32;
        let (h1, inv1) = g.rms_norm(x, &lw.input_norm, eps)?;
        let q = g.rope(&self.proj(&h1, l, Proj::Q)?, &s.cos, &s.sin, nh, false)?;
        if let Some(at) = kv_at {
            let k = g.rope(&self.proj(&h1, l, Proj::K)?, &s.cos, &s.sin, nkv, false)?;
            g.kv_write(&cache.k[l], &k, b, at)?;
            g.kv_write(&cache.v[l], &self.proj(&h1, l, Proj::V)?, b, at)?;
        }
        let scale = 1.0 / (hd as f32).sqrt();
        let (attn, probs) = g.attention(&q, &cache.k[l], &cache.v[l], s.keys, &s.mask, nh, nkv, scale, keep)?;
        let x_mid = self.proj(&attn, l, Proj::O)?;
        g.add_into(&x_mid, x)?;
        let (h2, inv2) = g.rms_norm(&x_mid, &lw.post_norm, eps)?;
        let gate = self.proj(&h2, l, Proj::Gate)?;
        let up = self.proj(&h2, l, Proj::Up)?;
        let act = g.silu_mul(&gate, &up)?;
        let out = self.proj(&act, l, Proj::Down)?;
        g.add_into(&out, &x_mid)?;
        let rec =
            probs.map(|probs| LayerRec { x_in: x.clone(), inv1, h1, q, probs, attn, x_mid, inv2, h2, gate, up, act });
        Ok((out, rec))
    }

    /// Layer `l`'s record for the backward pass: kept by the forward pass, or computed again
    /// from its kept input, with the keys and values the forward pass left in the cache.
    /// The same kernels on the same inputs: the same bits.
    pub(crate) fn layer_rec(&self, l: usize, rec: &mut Recorded, step: &Step, cache: &GpuCache) -> Result<LayerRec> {
        if !rec.checkpoint {
            return Ok(rec.layers.pop().expect("one record per layer"));
        }
        let x = rec.inputs.pop().expect("one input per layer");
        Ok(self.layer(l, &x, cache, step, None, true)?.1.expect("kept"))
    }
}
