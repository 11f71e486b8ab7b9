//! The "exact" CoS-Low variant (METHOD 1d): cosines between the full gradients of the seven
//! projection types, without ever holding a weight-sized gradient per example.
//!
//! A projection's weight gradient is G = dYᵀX (summed over positions), so for two examples
//!
//! ```text
//! ⟨G_a, G_b⟩_F = Σ_{t,s} (dY_a[t]·dY_b[s]) (X_a[t]·X_b[s])
//! ```
//!
//! Each example keeps X [T, in] and dY [T, out] per projection (inputs shared by q/k/v and by
//! gate/up are stored once: candle tensors share storage), about
//! 4·T·Σ_layers(3·H + I + q_dim + 2·kv_dim + H + 2·I) bytes — ~1 MB per token for
//! SmolLM2-135M. Two exact ways to get the inner products, picked per projection by cost:
//! - token Gram: (X Xᵀ) ⊙ (dY dYᵀ) over all examples' tokens, summed per example block;
//!   cost ∝ N²·(in + out) for N tokens in all;
//! - chunked gradients: a block of output rows of every example's G at a time (bounded
//!   memory), multiplied out; cost ∝ (N + K²)·in·out for K examples.

use candle_core::{DType, Tensor};

use crate::error::Result;
use crate::model::Proj;

/// Which exact method to use; `Auto` picks the cheaper per projection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExactMethod {
    #[default]
    Auto,
    TokenGram,
    Chunked,
}

/// Floats materialized at once by the chunked method (64 MB in f32).
const CHUNK_FLOATS: usize = 16 << 20;

type Factors = [Option<(Tensor, Tensor)>; 7];

/// Every example's (X, dY) per layer and projection.
#[derive(Debug, Default)]
pub struct ExactStore {
    layers: usize,
    examples: Vec<Vec<Factors>>,
}

impl ExactStore {
    pub fn new(layers: usize) -> Self {
        ExactStore {
            layers,
            examples: Vec::new(),
        }
    }

    /// Makes room for `n` more examples; returns the index of the first.
    pub fn add_examples(&mut self, n: usize) -> usize {
        let base = self.examples.len();
        let layers = self.layers;
        self.examples
            .extend((0..n).map(|_| (0..layers).map(|_| Default::default()).collect::<Vec<_>>()));
        base
    }

    pub fn put(&mut self, ex: usize, l: usize, p: Proj, x: &Tensor, dy: &Tensor) {
        self.examples[ex][l][p.index()] = Some((x.clone(), dy.clone()));
    }

    /// (X, dY) of example `ex`, layer `l`, projection `p`.
    pub fn factors(&self, ex: usize, l: usize, p: Proj) -> Option<&(Tensor, Tensor)> {
        self.examples.get(ex)?.get(l)?[p.index()].as_ref()
    }

    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    /// Gram matrix ⟨G_a, G_b⟩ of the full projection-weight gradients, summed over all
    /// layers and the seven projection types, in f64.
    pub fn gram(&self, method: ExactMethod) -> Result<Vec<Vec<f64>>> {
        let k = self.examples.len();
        let mut g = vec![vec![0.0f64; k]; k];
        for l in 0..self.layers {
            // q/k/v share X, and so do gate/up: their token Gram is computed once.
            let mut x_gram: Option<(Proj, Tensor)> = None;
            for p in Proj::ALL {
                let mut xs = Vec::with_capacity(k);
                let mut dys = Vec::with_capacity(k);
                for ex in &self.examples {
                    let (x, dy) = ex[l][p.index()]
                        .as_ref()
                        .expect("every projection recorded");
                    xs.push(x);
                    dys.push(dy);
                }
                let n: usize = xs
                    .iter()
                    .map(|x| x.dim(0))
                    .sum::<candle_core::Result<usize>>()?;
                let (inn, out) = (xs[0].dim(1)?, dys[0].dim(1)?);
                let tok_cost = (n * n * (inn + out)) as f64;
                let chunk_cost = ((n + k * k) * inn * out) as f64;
                let use_tokens = match method {
                    ExactMethod::TokenGram => true,
                    ExactMethod::Chunked => false,
                    ExactMethod::Auto => tok_cost <= chunk_cost,
                };
                let part = if use_tokens {
                    let shares = |a: Proj, b: Proj| {
                        matches!(
                            (a, b),
                            (Proj::Q, Proj::K | Proj::V)
                                | (Proj::K, Proj::V)
                                | (Proj::Gate, Proj::Up)
                        )
                    };
                    let kx = match &x_gram {
                        Some((q, t)) if shares(*q, p) => t.clone(),
                        _ => {
                            let xc = Tensor::cat(&xs, 0)?;
                            let t = xc.matmul(&xc.t()?)?;
                            x_gram = Some((p, t.clone()));
                            t
                        }
                    };
                    token_gram(&kx, &dys)?
                } else {
                    chunked_gram(&xs, &dys)?
                };
                for (gi, pi) in g.iter_mut().zip(part) {
                    gi.iter_mut().zip(pi).for_each(|(a, b)| *a += b);
                }
            }
        }
        Ok(g)
    }
}

/// Σ over each pair of example blocks of (X Xᵀ) ⊙ (dY dYᵀ), via a one-hot segment matrix.
fn token_gram(kx: &Tensor, dys: &[&Tensor]) -> Result<Vec<Vec<f64>>> {
    let yc = Tensor::cat(dys, 0)?;
    let e = kx.mul(&yc.matmul(&yc.t()?)?)?;
    let n = e.dim(0)?;
    let k = dys.len();
    let mut seg = vec![0f64; n * k];
    let mut row = 0;
    for (j, dy) in dys.iter().enumerate() {
        for _ in 0..dy.dim(0)? {
            seg[row * k + j] = 1.0;
            row += 1;
        }
    }
    let seg = Tensor::from_vec(seg, (n, k), e.device())?.to_dtype(e.dtype())?;
    Ok(seg
        .t()?
        .matmul(&e.matmul(&seg)?)?
        .to_dtype(DType::F64)?
        .to_vec2()?)
}

/// Materializes a block of output rows of every example's gradient at a time.
fn chunked_gram(xs: &[&Tensor], dys: &[&Tensor]) -> Result<Vec<Vec<f64>>> {
    let k = xs.len();
    let (inn, out) = (xs[0].dim(1)?, dys[0].dim(1)?);
    let rows = (CHUNK_FLOATS / (k * inn)).clamp(1, out);
    let mut g = vec![vec![0.0f64; k]; k];
    let mut r0 = 0;
    while r0 < out {
        let len = rows.min(out - r0);
        let blocks = xs
            .iter()
            .zip(dys)
            .map(|(x, dy)| Ok(dy.narrow(1, r0, len)?.t()?.matmul(x)?.flatten_all()?))
            .collect::<Result<Vec<_>>>()?;
        let m = Tensor::stack(&blocks, 0)?;
        let part = m.matmul(&m.t()?)?.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        for (gi, pi) in g.iter_mut().zip(part) {
            gi.iter_mut().zip(pi).for_each(|(a, b)| *a += b);
        }
        r0 += len;
    }
    Ok(g)
}
