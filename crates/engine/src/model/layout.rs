//! What both backends share about a batch's layout: which key each query sees (left padding,
//! a shared prefix, a sliding window) and the rotary position of every token, so the CPU and
//! GPU forward passes see identical inputs. The CPU backend also keeps its keys and values here.

use candle_core::{DType, Device, Tensor};

use crate::error::Result;

/// Additive mask value for hidden keys. Finite on purpose: a query whose keys are all
/// hidden (a left-padding position) then gets a finite, unused output instead of NaN, and
/// NaN would leak into real rows through `0 * NaN` in the attention product.
pub const MASKED: f64 = -1e30;

/// Rotary tables for the given positions: (cos, sin), each [positions.len(), head_dim],
/// laid out as `cat(freqs, freqs)` like Hugging Face. `inv_freq` [head_dim / 2] comes from
/// `ModelConfig::rope_inv_freq` (scaling applied). Angles are computed in f64, which is at
/// least as accurate as PyTorch's f32 tables.
pub fn rope_tables(positions: &[usize], inv_freq: &[f64], dtype: DType) -> Result<(Tensor, Tensor)> {
    let head_dim = 2 * inv_freq.len();
    let mut cos = Vec::with_capacity(positions.len() * head_dim);
    let mut sin = Vec::with_capacity(positions.len() * head_dim);
    for &p in positions {
        for _ in 0..2 {
            for f in inv_freq {
                let a = p as f64 * f;
                cos.push(a.cos());
                sin.push(a.sin());
            }
        }
    }
    let shape = (positions.len(), head_dim);
    let cos = Tensor::from_vec(cos, shape, &Device::Cpu)?.to_dtype(dtype)?;
    let sin = Tensor::from_vec(sin, shape, &Device::Cpu)?.to_dtype(dtype)?;
    Ok((cos, sin))
}

/// Keys and values of the tokens seen so far, per layer, for a batch of padded rows.
/// Row `r` has `pad[r]` padding columns starting at column `hole`: 0 for plain left padding,
/// or the length of a prefix shared by all rows (computed once, then copied to every row).
#[derive(Debug, Clone)]
pub struct KvCache {
    pad: Vec<usize>,
    hole: usize,
    pub(crate) len: usize,
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
    pub(crate) fn append(&mut self, l: usize, k: Tensor, v: Tensor) -> Result<(Tensor, Tensor)> {
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
