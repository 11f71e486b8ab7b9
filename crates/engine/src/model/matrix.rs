//! A weight matrix [out, in] as the CPU backend holds it: dense (f32, or f64 in gradient
//! checks), or kept in the model file's quantized blocks.
//!
//! Quantized matrices are what let a full-size model run on the CPU: Llama 3.1 8B dequantized
//! to f32 is ~32 GB, its Q4 blocks ~4.5 GB. Scoring multiplies them with candle's quantized
//! matmul, which, as llama.cpp does, rounds the activations to 8-bit blocks first. That moves
//! the scores (SmolLM2 forced quantized, the 200 prompts of tests/data/pool.csv: 125 greedy
//! generations identical to the dense model's, confidences of those within 0.018) and, for
//! SmolLM2's Q4_1, is far slower than dense f32 (34.5 s → 401 s on 2 cores; candle's k-quant
//! kernels are faster), so it is only for models that cannot be held dense. CoS-Low would move
//! far more (8 rows of tests/data/labeled.csv: 0.071 dense, 0.084 with 8-bit activations), so
//! gradients never use it: their forward and backward multiply by the dequantized matrix
//! (`forward_exact`, `backward_input`), which gives the dense model's numbers, dequantizing
//! [`SLICE_BYTES`] of rows at a time. A model that fits dense stays dense (`CpuWeights::Auto`).

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
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

    /// `x Wᵀ` in f32 with W dequantized: the dense model's numbers (what gradients use). A
    /// quantized W is dequantized a slice of rows at a time ([`SLICE_BYTES`]), so a large
    /// output layer (Llama 3's 128,256 × 4,096 is 2.1 GB in f32) is never dense all at once.
    pub fn forward_exact(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_exact_in(x, SLICE_BYTES)
    }

    fn forward_exact_in(&self, x: &Tensor, slice_bytes: usize) -> Result<Tensor> {
        match self {
            // A dense W is already exact.
            Matrix::Dense(_) => self.forward(x),
            Matrix::Quantized(_) => {
                let parts = self
                    .slices(slice_bytes)
                    .map(|(r0, n)| Ok(x.matmul(&self.rows_dense(r0, n)?.t()?)?))
                    .collect::<Result<Vec<_>>>()?;
                Ok(Tensor::cat(&parts, 1)?)
            }
        }
    }

    /// `d W` for d [N, out]: [N, in], the gradient with respect to the input `x` (the
    /// backward pass), a quantized W dequantized a slice of rows at a time.
    pub fn backward_input(&self, d: &Tensor) -> Result<Tensor> {
        self.backward_input_in(d, SLICE_BYTES)
    }

    fn backward_input_in(&self, d: &Tensor, slice_bytes: usize) -> Result<Tensor> {
        match self {
            Matrix::Dense(w) => Ok(d.matmul(w)?),
            Matrix::Quantized(_) => {
                let mut sum: Option<Tensor> = None;
                for (r0, n) in self.slices(slice_bytes) {
                    let part = d.narrow(1, r0, n)?.contiguous()?.matmul(&self.rows_dense(r0, n)?)?;
                    sum = Some(match sum {
                        Some(s) => (s + part)?,
                        None => part,
                    });
                }
                Ok(sum.expect("a matrix has rows"))
            }
        }
    }

    /// (first row, rows) of the slices `forward_exact` and `backward_input` dequantize.
    fn slices(&self, slice_bytes: usize) -> impl Iterator<Item = (usize, usize)> {
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        let per = (slice_bytes / (4 * cols.max(1))).max(1);
        (0..rows).step_by(per).map(move |r0| (r0, per.min(rows - r0)))
    }

    /// Rows `r0 .. r0 + n` of W in f32.
    fn rows_dense(&self, r0: usize, n: usize) -> Result<Tensor> {
        match self {
            Matrix::Dense(w) => Ok(w.narrow(0, r0, n)?),
            Matrix::Quantized(q) if n == self.dims()[0] => Ok(q.dequantize(&Device::Cpu)?),
            Matrix::Quantized(q) => {
                let cols = self.dims()[1];
                // Blocks never straddle rows: every quantized row holds whole blocks.
                let row_bytes = cols / q.dtype().block_size() * q.dtype().type_size();
                let data = q.data()?;
                let part = &data[r0 * row_bytes..(r0 + n) * row_bytes];
                Ok(qtensor_from_ggml(q.dtype(), part, vec![n, cols], &Device::Cpu)?.dequantize(&Device::Cpu)?)
            }
        }
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

/// The f32 bytes of W dequantized at once by `forward_exact` and `backward_input`.
pub const SLICE_BYTES: usize = 256 << 20;

/// The most memory the dense f32 weights may take before `Auto` keeps them quantized: a
/// 1.7B model (~7 GB in f32) stays dense, a 7B one (~28 GB) does not.
#[cfg(not(target_arch = "wasm32"))]
pub const DENSE_BUDGET: u64 = 8 << 30;
/// In a browser the weights share wasm32's 4 GiB with scoring's and gradients' activations
/// (SmolLM2's 0.5 GiB of weights stay dense).
#[cfg(target_arch = "wasm32")]
pub const DENSE_BUDGET: u64 = 1 << 30;

/// The most the CPU backend's weights may take, where memory is bounded: a browser's wasm32
/// memory (4 GiB, with room left for activations). None natively.
#[cfg(not(target_arch = "wasm32"))]
pub const CPU_WEIGHTS_LIMIT: Option<u64> = None;
#[cfg(target_arch = "wasm32")]
pub const CPU_WEIGHTS_LIMIT: Option<u64> = Some(2 << 30);

#[cfg(test)]
mod tests {
    use candle_core::quantized::GgmlDType;

    use super::*;

    fn max_diff(a: &Tensor, b: &Tensor) -> f32 {
        (a - b).unwrap().abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap()
    }

    /// Slices of rows give what the whole dequantized matrix gives, whatever the slice size,
    /// the last slice short included.
    #[test]
    fn sliced_products_equal_the_whole_matrix() {
        let w = Tensor::randn(0f32, 1.0, (100, 64), &Device::Cpu).unwrap();
        let q = Matrix::Quantized(Arc::new(QTensor::quantize(&w, GgmlDType::Q4_0).unwrap()));
        let dense = Matrix::Dense(q.dense().unwrap().into_owned());
        let x = Tensor::randn(0f32, 1.0, (7, 64), &Device::Cpu).unwrap();
        let d = Tensor::randn(0f32, 1.0, (7, 100), &Device::Cpu).unwrap();
        let (fx, bd) = (dense.forward_exact(&x).unwrap(), dense.backward_input(&d).unwrap());
        for rows in [1, 7, 30, 99, 100, 1000] {
            let bytes = rows * 64 * 4;
            assert_eq!(q.slices(bytes).map(|(_, n)| n).sum::<usize>(), 100);
            assert!(max_diff(&q.forward_exact_in(&x, bytes).unwrap(), &fx) < 1e-5, "{rows} rows a slice");
            assert!(max_diff(&q.backward_input_in(&d, bytes).unwrap(), &bd) < 1e-4, "{rows} rows a slice");
        }
    }
}
