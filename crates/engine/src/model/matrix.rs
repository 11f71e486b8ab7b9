//! A weight matrix [out, in] as the CPU backend holds it: dense (f32, or f64 in gradient
//! checks), or kept in the model file's quantized blocks.
//!
//! Quantized matrices are what let a full-size model run on the CPU: Llama 3.1 8B dequantized
//! to f32 is ~32 GB, its Q4 blocks ~4.5 GB. The forward pass multiplies them with candle's
//! quantized matmul for scoring, which, as llama.cpp does, rounds the activations to 8-bit
//! blocks first. That moves the scores (SmolLM2 forced quantized, the 200 prompts of
//! tests/data/pool.csv: 125 greedy generations identical to the dense model's, confidences of
//! those within 0.018) and is slower than dense f32 where that fits (34.5 s → 401 s on 2
//! cores: candle's kernels are made for one row, a batch of 32 rows runs them 32 times), so
//! it is only for models that cannot be held dense. CoS-Low would move far more (8 rows of
//! tests/data/labeled.csv: 0.071 dense, 0.084 with 8-bit activations), so gradients never
//! use it: their forward and backward multiply by the dequantized matrix (`forward_exact`,
//! `dense`), which gives the dense model's numbers. A matrix is dequantized when its layer
//! reads it and dropped after, so at most a layer's matrices are dense at a time. A model
//! that fits dense stays dense (`CpuWeights::Auto`).

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use crate::error::Result;

#[derive(Debug, Clone)]
pub enum Matrix {
    Dense(Tensor),
    Quantized(Arc<QTensor>),
}

impl Matrix {
    /// `x Wᵀ` for x [N, in]: [N, out]; a quantized W multiplies 8-bit-rounded activations.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Matrix::Dense(w) => Ok(x.matmul(&w.t()?)?),
            Matrix::Quantized(q) => Ok(QMatMul::from_arc(q.clone())?.forward(&x.contiguous()?)?),
        }
    }

    /// `x Wᵀ` in f32 with W dequantized: the dense model's numbers (what gradients use).
    pub fn forward_exact(&self, x: &Tensor) -> Result<Tensor> {
        Ok(x.matmul(&self.dense()?.t()?)?)
    }

    /// W itself [out, in], dequantized to f32 when it is kept quantized (allocated per call).
    pub fn dense(&self) -> Result<Cow<'_, Tensor>> {
        match self {
            Matrix::Dense(w) => Ok(Cow::Borrowed(w)),
            Matrix::Quantized(q) => Ok(Cow::Owned(q.dequantize(&Device::Cpu)?)),
        }
    }

    pub fn dims(&self) -> &[usize] {
        match self {
            Matrix::Dense(w) => w.dims(),
            Matrix::Quantized(q) => q.shape().dims(),
        }
    }

    /// The bytes it holds.
    pub fn size_in_bytes(&self) -> usize {
        match self {
            Matrix::Dense(w) => w.elem_count() * w.dtype().size_in_bytes(),
            Matrix::Quantized(q) => q.storage_size_in_bytes(),
        }
    }

    /// Dense in another float type (gradient checks run in f64).
    pub fn to_dtype(&self, dtype: DType) -> Result<Matrix> {
        Ok(Matrix::Dense(self.dense()?.to_dtype(dtype)?))
    }
}

/// How the CPU backend holds a model's matrices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CpuWeights {
    /// Dense f32 when that takes at most [`DENSE_BUDGET`] bytes, else quantized.
    #[default]
    Auto,
    Dense,
    /// Quantized where the file stores a block format; float formats stay dense.
    Quantized,
}

/// The most memory the dense f32 weights may take before `Auto` keeps them quantized: a
/// 1.7B model (~7 GB in f32) stays dense, a 7B one (~28 GB) does not.
pub const DENSE_BUDGET: u64 = 8 << 30;
