//! Small tensor operations of the CPU backend's forward pass and hand-written backward.
//!
//! Written with candle ops only (no custom kernels) so they run in f32 for inference and in
//! f64 for gradient checks, and so candle's autograd can differentiate them in tests.

use candle_core::{Tensor, D};

use crate::error::Result;

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

/// `x W^T` for x [N, in] and W [out, in] without copying W.
pub fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?)
}
