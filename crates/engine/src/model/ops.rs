//! Small tensor operations shared by the forward pass and the hand-written backward.
//!
//! Written with candle ops only (no custom kernels) so they run in f32 for inference and in
//! f64 for gradient checks, and so candle's autograd can differentiate them in tests.

use candle_core::{DType, Device, Tensor, D};

use crate::error::Result;

/// Additive mask value for hidden keys. Finite on purpose: a query whose keys are all
/// hidden (a left-padding position) then gets a finite, unused output instead of NaN, and
/// NaN would leak into real rows through `0 * NaN` in the attention product.
pub const MASKED: f64 = -1e30;

/// RMSNorm as Hugging Face computes it: `w * x / sqrt(mean(x^2) + eps)`.
/// Returns the output and `1 / rms` [N, 1], which the backward pass reuses.
pub fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<(Tensor, Tensor)> {
    let inv = (x.sqr()?.mean_keepdim(D::Minus1)? + eps)?.sqrt()?.recip()?;
    let y = x.broadcast_mul(&inv)?.broadcast_mul(w)?;
    Ok((y, inv))
}

/// Softmax over the last dimension, max-shifted for stability.
pub fn softmax_last(x: &Tensor) -> Result<Tensor> {
    let max = x.max_keepdim(D::Minus1)?;
    let e = x.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

/// `rotate_half` of Hugging Face: [-x2, x1] over the last dimension.
pub fn rotate_half(x: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    Ok(Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?)
}

/// The transpose of `rotate_half` (it is orthogonal, so also its inverse): [x2, -x1].
pub fn rotate_half_t(x: &Tensor) -> Result<Tensor> {
    let half = x.dim(D::Minus1)? / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    Ok(Tensor::cat(&[&x2, &x1.neg()?], D::Minus1)?)
}

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

/// `x W^T` for x [N, in] and W [out, in] without copying W.
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?)
}
