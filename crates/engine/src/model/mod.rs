//! The transformer on the CPU (candle): llama-family and Qwen2 decoders, batched with
//! left padding, with a KV cache for generation.

pub mod layer;
pub mod load;
pub mod ops;
pub mod weights;

use candle_core::{Device, Tensor};

pub use layer::LayerActs;
pub use load::{parse_gguf, parse_safetensors, text_from_gguf};
// What the parsers return, so their callers need not depend on the loading crates.
pub use labelcast_modelfile::ModelFile;
pub use labelcast_text::{HfText, ModelText};
pub use weights::{expected_tensors, LayerWeights, Proj, Weights};

use crate::error::Result;
use layer::StepCtx;
use ops::{linear, rms_norm, rope_tables, MASKED};

/// A LoRA branch `y += scale * B (A x)` on all seven projections of one layer.
/// A is [r, in], B is [out, r], indexed by `Proj::index()`.
#[derive(Debug, Clone)]
pub struct LoraLayer {
    pub a: [Tensor; 7],
    pub b: [Tensor; 7],
    pub scale: f64,
}

/// Keys and values of the tokens seen so far, per layer, for a batch of padded rows.
/// Row `r` has `pad[r]` padding columns starting at column `hole`: 0 for plain left padding,
/// or the length of a prefix shared by all rows (computed once, then copied to every row).
#[derive(Debug, Clone)]
pub struct KvCache {
    pad: Vec<usize>,
    hole: usize,
    len: usize,
    k: Vec<Tensor>,
    v: Vec<Tensor>,
}

impl KvCache {
    pub fn new(pad: Vec<usize>) -> Self {
        KvCache { pad, hole: 0, len: 0, k: Vec::new(), v: Vec::new() }
    }

    /// Columns stored (padding included).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn rows(&self) -> usize {
        self.pad.len()
    }

    pub fn pad(&self) -> &[usize] {
        &self.pad
    }

    /// Copies a one-row cache (a shared prefix) to as many rows as `pad` has, each with that
    /// much padding after the prefix.
    pub fn expand(&mut self, pad: Vec<usize>) -> Result<()> {
        assert_eq!(self.rows(), 1, "only a one-row cache can be expanded");
        let b = pad.len();
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            let mut dims = t.dims().to_vec();
            dims[0] = b;
            *t = t.broadcast_as(dims)?.contiguous()?;
        }
        self.hole = self.len;
        self.pad = pad;
        Ok(())
    }

    /// Whether row `r` sees column `j` from column `col` (causal, padding hidden, and within
    /// `window` positions if the model has a sliding window), and the rotary position of `col`.
    fn visible(&self, r: usize, col: usize, j: usize, window: Option<usize>) -> bool {
        let (hole, pad) = (self.hole, self.pad[r]);
        // A padding query sees itself only, so its (unused) output stays finite.
        // The window counts positions, not columns: padding between a shared prefix and a
        // row's own tokens does not use it up (as a batch of one in transformers).
        j == col
            || (j < col
                && (j < hole || j >= hole + pad)
                && window.is_none_or(|w| self.position(r, col).saturating_sub(self.position(r, j)) < w))
    }

    fn position(&self, r: usize, col: usize) -> usize {
        let (hole, pad) = (self.hole, self.pad[r]);
        if col < hole + pad {
            col.min(hole)
        } else {
            col - pad
        }
    }

    /// Appends layer `l`'s new keys/values [B, nkv, t, hd]; returns all of them.
    fn append(&mut self, l: usize, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
        if self.k.len() <= l {
            self.k.push(k);
            self.v.push(v);
        } else {
            self.k[l] = Tensor::cat(&[&self.k[l], &k], 2)?;
            self.v[l] = Tensor::cat(&[&self.v[l], &v], 2)?;
        }
        Ok((self.k[l].clone(), self.v[l].clone()))
    }

    /// For `t` new columns per row: the rotary position of each new token [B*t] and the
    /// additive attention mask [B, t, keys] (keys = columns stored + t). Shared by the CPU
    /// and GPU backends so both see the same inputs.
    pub fn step_layout(&self, t: usize, window: Option<usize>) -> (Vec<usize>, Vec<f32>) {
        let b = self.rows();
        let keys = self.len + t;
        let mut positions = Vec::with_capacity(b * t);
        let mut mask = vec![0f32; b * t * keys];
        for r in 0..b {
            for i in 0..t {
                let col = self.len + i;
                positions.push(self.position(r, col));
                let row = &mut mask[(r * t + i) * keys..(r * t + i + 1) * keys];
                for (j, m) in row.iter_mut().enumerate() {
                    if !self.visible(r, col, j, window) {
                        *m = MASKED as f32;
                    }
                }
            }
        }
        (positions, mask)
    }

    /// Records `t` more stored columns (a backend that keeps keys and values itself).
    pub fn advance(&mut self, t: usize) {
        self.len += t;
    }

    /// Keeps only the given rows (in that order): finished generations stop costing compute.
    pub fn retain(&mut self, rows: &[usize]) -> Result<()> {
        let idx: Vec<u32> = rows.iter().map(|&r| r as u32).collect();
        let idx = Tensor::new(idx.as_slice(), &Device::Cpu)?;
        for t in self.k.iter_mut().chain(self.v.iter_mut()) {
            *t = t.index_select(&idx, 0)?;
        }
        self.pad = rows.iter().map(|&r| self.pad[r]).collect();
        Ok(())
    }
}

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

#[derive(Debug, Clone)]
pub struct Model {
    pub weights: Weights,
}

impl Model {
    pub fn new(weights: Weights) -> Self {
        Model { weights }
    }

    pub fn config(&self) -> &labelcast_modelfile::ModelConfig {
        &self.weights.config
    }

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
        let ids_t = Tensor::new(ids, &Device::Cpu)?;
        let mut x = self.weights.embed.index_select(&ids_t, 0)?;
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
        linear(hidden, self.weights.output())
    }
}
