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
use labelcast_modelfile::ModelConfig;

use crate::error::{EngineError, Result};
use crate::grad::TokenExample;
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

/// Floats the exact variant keeps per token: per layer the inputs X of q/k/v (shared), o,
/// gate/up (shared) and down, and the output gradients dY of all seven projections.
pub fn exact_floats_per_token(c: &ModelConfig) -> usize {
    let (h, i, q, kv) = (c.hidden_size, c.intermediate_size, c.q_dim(), c.kv_dim());
    let x = h + q + h + i;
    let dy = q + 2 * kv + h + 2 * i + h;
    c.num_layers * (x + dy)
}

/// Bytes (f32) the exact variant holds for `examples`: every token's X and dY (above), plus
/// the largest temporaries of the Gram step (three N×N token matrices for N tokens in all,
/// or the chunked method's two blocks), whichever `method` can use.
pub fn exact_bytes_needed(c: &ModelConfig, examples: &[TokenExample], method: ExactMethod) -> u128 {
    let n: u128 = examples.iter().map(|e| e.ids.len() as u128).sum();
    let factors = n * exact_floats_per_token(c) as u128;
    let token_gram = 3 * n * n;
    // A block of `rows` output rows of every example's gradient, and its stacked copy.
    let k = examples.len();
    let chunked = Proj::ALL
        .iter()
        .map(|p| {
            let (out, inn) = p.shape(c);
            let rows = (CHUNK_FLOATS / (k * inn).max(1)).clamp(1, out);
            2 * (k * rows * inn) as u128
        })
        .max()
        .unwrap_or(0);
    let work = match method {
        ExactMethod::TokenGram => token_gram,
        ExactMethod::Chunked => chunked,
        ExactMethod::Auto => token_gram.max(chunked),
    };
    4 * (factors + work)
}

/// Refuses before any gradient is computed when the exact variant would hold more than the
/// LoRA variant is allowed to keep for the same examples: `budget` floats (f32) per example.
/// Without this an 8B model (~9 MB a token) exhausts memory halfway through, after minutes.
pub fn check_exact_budget(
    c: &ModelConfig,
    examples: &[TokenExample],
    method: ExactMethod,
    budget: usize,
) -> Result<()> {
    let k = examples.len().max(1) as u128;
    let need = exact_bytes_needed(c, examples, method);
    let allowed = 4 * budget as u128 * k;
    if need <= allowed {
        return Ok(());
    }
    let tokens: usize = examples.iter().map(|e| e.ids.len()).sum();
    let per_token = 4 * exact_floats_per_token(c);
    let min_budget = need.div_ceil(4 * k);
    Err(EngineError::Invalid(format!(
        "the exact gradient variant needs about {} ({} tokens of {k} examples, {} per token \
         for X and dY of every projection) but the memory budget allows {} ({budget} floats \
         per example); use the LoRA variant (the paper's CoS-Low), or raise the budget \
         (--budget in the CLI) to at least {min_budget} floats per example",
        human_bytes(need),
        tokens,
        human_bytes(per_token as u128),
        human_bytes(allowed),
    )))
}

fn human_bytes(b: u128) -> String {
    let b = b as f64;
    match b {
        _ if b >= 1e9 => format!("{:.1} GB", b / 1e9),
        _ if b >= 1e6 => format!("{:.1} MB", b / 1e6),
        _ if b >= 1e3 => format!("{:.1} kB", b / 1e3),
        _ => format!("{b} bytes"),
    }
}

type Factors = [Option<(Tensor, Tensor)>; 7];

/// Every example's (X, dY) per layer and projection.
#[derive(Debug, Default)]
pub struct ExactStore {
    layers: usize,
    examples: Vec<Vec<Factors>>,
}

impl ExactStore {
    pub fn new(layers: usize) -> Self {
        ExactStore { layers, examples: Vec::new() }
    }

    /// Makes room for `n` more examples; returns the index of the first.
    pub fn add_examples(&mut self, n: usize) -> usize {
        let base = self.examples.len();
        let layers = self.layers;
        self.examples.extend((0..n).map(|_| (0..layers).map(|_| Default::default()).collect::<Vec<_>>()));
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
                    let (x, dy) = ex[l][p.index()].as_ref().expect("every projection recorded");
                    xs.push(x);
                    dys.push(dy);
                }
                let n: usize = xs.iter().map(|x| x.dim(0)).sum::<candle_core::Result<usize>>()?;
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
                        matches!((a, b), (Proj::Q, Proj::K | Proj::V) | (Proj::K, Proj::V) | (Proj::Gate, Proj::Up))
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
    Ok(seg.t()?.matmul(&e.matmul(&seg)?)?.to_dtype(DType::F64)?.to_vec2()?)
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
