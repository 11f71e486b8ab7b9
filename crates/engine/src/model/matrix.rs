//! A weight matrix [out, in] as the CPU backend holds it: dense (f32, or f64 in gradient
//! checks), or kept in the model file's quantized blocks.
//!
//! Quantized matrices are what let a full-size model run on the CPU: Llama 3.1 8B dequantized
//! to f32 is ~32 GB, its Q4 blocks ~4.5 GB. Scoring multiplies them with candle's quantized
//! matmul, which, as llama.cpp does, rounds the activations to 8-bit blocks first. That moves
//! the scores (SmolLM2 forced quantized, its tied output layer the Q8_0 embedding, the 200
//! prompts of tests/data/pool.csv: 121 greedy generations identical to the dense model's,
//! confidences of those within 0.031) and, for
//! SmolLM2's Q4_1, is far slower than dense f32 (34.5 s → 401 s on 2 cores; candle's k-quant
//! kernels are faster), so it is only for models that cannot be held dense. CoS-Low would move
//! far more (8 rows of tests/data/labeled.csv: 0.071 dense, 0.084 with 8-bit activations), so
//! gradients never use it: their forward and backward multiply by the dequantized matrix
//! (`forward_exact`, `backward_input`), which gives the dense model's numbers, dequantizing
//! [`SLICE_BYTES`] of rows at a time. A model that fits dense stays dense (`CpuWeights::Auto`).
//! The embedding is a matrix too, kept in its blocks with the others: it is read by rows
//! (`lookup`), and a tied output layer multiplies by it.

use std::borrow::Cow;
use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::quantized::{QMatMul, QTensor};
use candle_core::{DType, Device, Module, Tensor};

use crate::error::{EngineError, Result};

#[derive(Debug, Clone)]
pub enum Matrix {
    Dense(Tensor),
    Quantized(Arc<QTensor>),
}

impl Matrix {
    /// `x Wᵀ` for x [N, in]: [N, out]; a quantized W multiplies 8-bit-rounded activations.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Matrix::Dense(w) => match dense_simd(x, w, true)? {
                Some(y) => Ok(y),
                None => Ok(x.matmul(&w.t()?)?),
            },
            Matrix::Quantized(q) => match blocks_matmul(q, x)? {
                Some(y) => Ok(y),
                None => Ok(QMatMul::from_arc(q.clone())?.forward(&x.contiguous()?)?),
            },
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
            Matrix::Dense(w) => match dense_simd(d, w, false)? {
                Some(y) => Ok(y),
                None => Ok(d.matmul(w)?),
            },
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

    /// The most f32 values of W that `forward_exact` and `backward_input` dequantize at once
    /// (0 for a dense W, which they read in place).
    pub fn slice_floats(&self) -> u64 {
        match self {
            Matrix::Dense(_) => 0,
            Matrix::Quantized(_) => {
                self.slices(SLICE_BYTES).map(|(_, n)| (n * self.dims()[1]) as u64).max().unwrap_or(0)
            }
        }
    }

    /// (first row, rows) of the slices `forward_exact` and `backward_input` dequantize.
    fn slices(&self, slice_bytes: usize) -> impl Iterator<Item = (usize, usize)> {
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        let per = (slice_bytes / (4 * cols.max(1))).max(1);
        (0..rows).step_by(per).map(move |r0| (r0, per.min(rows - r0)))
    }

    /// The rows `ids` of W [ids, in] (an embedding's lookup). A quantized W dequantizes only
    /// those rows, so a large vocabulary's embedding stays in its blocks (Qwen2.5-14B's
    /// 152,064 × 5,120 is 3.1 GB in f32 against 0.4 GB of Q4_K). Exact: a row's values depend
    /// on its own blocks only, so they equal the rows of the whole matrix dequantized.
    pub fn lookup(&self, ids: &[u32]) -> Result<Tensor> {
        let (rows, cols) = (self.dims()[0], self.dims()[1]);
        if let Some(&id) = ids.iter().find(|&&id| id as usize >= rows) {
            return Err(EngineError::TokenOutOfRange { id, rows });
        }
        match self {
            Matrix::Dense(w) => Ok(w.index_select(&Tensor::new(ids, &Device::Cpu)?, 0)?),
            Matrix::Quantized(q) => {
                let row_bytes = quantized_row_bytes(q, cols);
                let data = q.data()?;
                let mut picked = Vec::with_capacity(ids.len() * row_bytes);
                for &id in ids {
                    let r = id as usize;
                    picked.extend_from_slice(&data[r * row_bytes..(r + 1) * row_bytes]);
                }
                dequantize_rows(q, &picked, ids.len(), cols)
            }
        }
    }

    /// Rows `r0 .. r0 + n` of W in f32.
    fn rows_dense(&self, r0: usize, n: usize) -> Result<Tensor> {
        match self {
            Matrix::Dense(w) => Ok(w.narrow(0, r0, n)?),
            Matrix::Quantized(q) if n == self.dims()[0] => Ok(q.dequantize(&Device::Cpu)?),
            Matrix::Quantized(q) => {
                let cols = self.dims()[1];
                let row_bytes = quantized_row_bytes(q, cols);
                dequantize_rows(q, &q.data()?[r0 * row_bytes..(r0 + n) * row_bytes], n, cols)
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

/// The bytes of one row of a quantized W with `cols` columns. Blocks never straddle rows:
/// every quantized row holds whole blocks.
fn quantized_row_bytes(q: &QTensor, cols: usize) -> usize {
    cols / q.dtype().block_size() * q.dtype().type_size()
}

/// `rows` whole rows of `q`'s blocks (`bytes`, in q's format) in f32.
fn dequantize_rows(q: &QTensor, bytes: &[u8], rows: usize, cols: usize) -> Result<Tensor> {
    Ok(qtensor_from_ggml(q.dtype(), bytes, vec![rows, cols], &Device::Cpu)?.dequantize(&Device::Cpu)?)
}

/// `x Wᵀ` with W's blocks as the file stores them, through candle's block kernels
/// (`k_quants::matmul`, which `QMatMul` itself falls back to). Not `QMatMul`: on x86-64 and
/// aarch64 it repacks Q4_K (and Q6_K, Q8_0…) weights into wider tiles on first use and keeps
/// them beside the blocks for good, which took a synthetic Qwen2.5-14B's scoring from 11.6 to
/// 23.0 GB (docs/benchmarks/cpu.md). None for a type without a block kernel here.
fn blocks_matmul(q: &QTensor, x: &Tensor) -> Result<Option<Tensor>> {
    use candle_core::quantized::k_quants::{self as kq, GgmlType};
    use candle_core::quantized::GgmlDType as D;

    /// The blocks of a `T` matrix, viewed in place where they are aligned for `T`.
    fn run<T: GgmlType>(data: &[u8], mkn: (usize, usize, usize), lhs: &[f32], dst: &mut [f32]) -> Result<bool> {
        let (size, align) = (std::mem::size_of::<T>(), std::mem::align_of::<T>());
        if data.len() % size != 0 || data.as_ptr().align_offset(align) != 0 {
            return Ok(false);
        }
        // SAFETY: `T` is one of candle's `#[repr(C)]` block structs (integers and f16 only:
        // every bit pattern is a value), the bytes are aligned for it and a whole number of
        // blocks, and `data` outlives the slice.
        let blocks = unsafe { std::slice::from_raw_parts(data.as_ptr().cast::<T>(), data.len() / size) };
        kq::matmul(mkn, lhs, blocks, dst)?;
        Ok(true)
    }

    let (n, k) = q.shape().dims2()?;
    let mut out_dims = x.dims().to_vec();
    out_dims.pop();
    out_dims.push(n);
    let m = x.elem_count() / k.max(1);
    let lhs = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let data = q.data()?;
    let mut dst = vec![0f32; m * n];
    let mkn = (m, k, n);
    let done = match q.dtype() {
        D::Q4_0 => run::<kq::BlockQ4_0>(&data, mkn, &lhs, &mut dst)?,
        D::Q4_1 => run::<kq::BlockQ4_1>(&data, mkn, &lhs, &mut dst)?,
        D::Q5_0 => run::<kq::BlockQ5_0>(&data, mkn, &lhs, &mut dst)?,
        D::Q5_1 => run::<kq::BlockQ5_1>(&data, mkn, &lhs, &mut dst)?,
        D::Q8_0 => run::<kq::BlockQ8_0>(&data, mkn, &lhs, &mut dst)?,
        D::Q2K => run::<kq::BlockQ2K>(&data, mkn, &lhs, &mut dst)?,
        D::Q3K => run::<kq::BlockQ3K>(&data, mkn, &lhs, &mut dst)?,
        D::Q4K => run::<kq::BlockQ4K>(&data, mkn, &lhs, &mut dst)?,
        D::Q5K => run::<kq::BlockQ5K>(&data, mkn, &lhs, &mut dst)?,
        D::Q6K => run::<kq::BlockQ6K>(&data, mkn, &lhs, &mut dst)?,
        _ => false,
    };
    Ok(if done { Some(Tensor::from_vec(dst, out_dims, &Device::Cpu)?) } else { None })
}

/// `x Wᵀ` (`Wᵀ` false: x [N, in], W [out, in]) or `d W` (d [N, out]) by the model worker's
/// own kernels ([`super::kernels`]) where WebAssembly's simd128 is on, for f32 operands and a
/// contiguous W: gemm's repacking of W on every call was a fifth of the worker's time. None
/// for other operands, and natively, where gemm has AVX2 and FMA.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn dense_simd(a: &Tensor, w: &Tensor, transposed: bool) -> Result<Option<Tensor>> {
    use super::kernels::{d_w_simd, x_wt_simd};
    use candle_core::{CpuStorage, Storage};

    let (Ok((m, inner)), Ok((rows, cols))) = (a.dims2(), w.dims2()) else { return Ok(None) };
    let fits = if transposed { inner == cols } else { inner == rows };
    if !fits || a.dtype() != DType::F32 || w.dtype() != DType::F32 || !w.is_contiguous() {
        return Ok(None);
    }
    let a = a.contiguous()?;
    let (a_store, a_layout) = a.storage_and_layout();
    let (w_store, w_layout) = w.storage_and_layout();
    let (Storage::Cpu(CpuStorage::F32(av)), Storage::Cpu(CpuStorage::F32(wv))) = (&*a_store, &*w_store) else {
        return Ok(None);
    };
    let (ao, wo) = (a_layout.start_offset(), w_layout.start_offset());
    let (a, w) = (&av[ao..ao + m * inner], &wv[wo..wo + rows * cols]);
    let (y, out_cols) =
        if transposed { (x_wt_simd(a, w, m, inner, rows), rows) } else { (d_w_simd(a, w, m, rows, cols), cols) };
    Ok(Some(Tensor::from_vec(y, (m, out_cols), &Device::Cpu)?))
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn dense_simd(_a: &Tensor, _w: &Tensor, _transposed: bool) -> Result<Option<Tensor>> {
    Ok(None)
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

/// The f32 bytes of W dequantized at once by `forward_exact` and `backward_input`. They count
/// in a pack's activation memory (`grad::CpuModel`), so smaller than a 14B's 1 GiB budget needs
/// (at 256 MiB, a 460-token pack of Qwen2.5-14B no longer fit 1 GiB computing layers again);
/// a slice of 64 MiB is still thousands of rows, a large product.
pub const SLICE_BYTES: usize = 64 << 20;

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

    /// The block kernels are as close to the product with the dequantized matrix (the error is
    /// the 8-bit rounding of the activations) as candle's QMatMul is (its repacked tiles on
    /// x86-64, where they apply: n a multiple of the tile, k of 256), for 2-D and 3-D inputs.
    #[test]
    fn block_products_are_as_close_as_qmatmul() {
        let w = Tensor::randn(0f32, 1.0, (64, 512), &Device::Cpu).unwrap();
        let x = Tensor::randn(0f32, 1.0, (2, 5, 512), &Device::Cpu).unwrap();
        for dt in [GgmlDType::Q4_0, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q6K, GgmlDType::Q5K] {
            let q = Arc::new(QTensor::quantize(&w, dt).unwrap());
            let exact = x.broadcast_matmul(&q.dequantize(&Device::Cpu).unwrap().t().unwrap()).unwrap();
            let candle = QMatMul::from_arc(q.clone()).unwrap().forward(&x).unwrap();
            let got = blocks_matmul(&q, &x).unwrap().expect("a block kernel");
            assert_eq!(got.dims(), [2, 5, 64]);
            let scale = exact.abs().unwrap().flatten_all().unwrap().max(0).unwrap().to_scalar::<f32>().unwrap();
            let (ours, theirs) = (max_diff(&got, &exact) / scale, max_diff(&candle, &exact) / scale);
            assert!(ours <= 2e-2 && ours <= 2.0 * theirs.max(1e-3), "{dt:?}: {ours} against QMatMul's {theirs}");
        }
    }

    /// Looking up rows of a quantized matrix, repeated and in any order, gives exactly the rows
    /// of the whole matrix dequantized, in six block formats; an id past the rows is an error.
    #[test]
    fn quantized_lookup_equals_the_dequantized_rows() {
        let w = Tensor::randn(0f32, 1.0, (40, 512), &Device::Cpu).unwrap();
        let ids = [39u32, 0, 7, 7, 12, 38, 1];
        for dt in [GgmlDType::Q4_0, GgmlDType::Q4_1, GgmlDType::Q8_0, GgmlDType::Q4K, GgmlDType::Q5K, GgmlDType::Q6K] {
            let q = Matrix::Quantized(Arc::new(QTensor::quantize(&w, dt).unwrap()));
            let whole = q.dense().unwrap().into_owned();
            let want = Matrix::Dense(whole.clone()).lookup(&ids).unwrap();
            assert_eq!(want.dims(), [ids.len(), 512]);
            let got = q.lookup(&ids).unwrap();
            assert_eq!(got.to_vec2::<f32>().unwrap(), want.to_vec2::<f32>().unwrap(), "{dt:?}");
            assert_eq!(got.to_vec2::<f32>().unwrap()[2], whole.get(7).unwrap().to_vec1::<f32>().unwrap(), "{dt:?}");
            assert!(matches!(q.lookup(&[3, 40]), Err(EngineError::TokenOutOfRange { id: 40, rows: 40 })), "{dt:?}");
        }
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
