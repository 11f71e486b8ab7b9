//! Weights kept in their GGUF formats on the GPU (ggml blocks: Q8_0, Q4_0, Q4_1, Q4_K, Q5_K,
//! Q6_K, and F16/BF16/F32), multiplied by the tiled matmul (or, for the few rows of a decode
//! step, the matvec kernel) through one loader part per format (kernels/quant/*.wgsl) and
//! gathered by `embedding`.
//!
//! Upload repacks only what is needed for 4-byte alignment (Q8_0 and Q4_0 get 2 pad bytes
//! after the f16 scale, Q6_K 2 at the end of each super-block); every other format is copied
//! as stored. A weight larger than one storage binding is split by rows into chunks, each
//! its own buffer; the ops dispatch once per chunk into the matching slice of the result.

use crate::context::Gpu;
use crate::dispatch::{grid_1d, kernel_params, u32_of, Kernel};
use crate::error::{GpuError, Result};
use crate::ops::matmul::{Dims, MatmulOpts, Strides};
use crate::ops::matvec::{Matvec, MATVEC_MAX_ROWS};
use crate::tensor::{DType, Tensor};
use std::ops::Range;

/// Stored bytes of rows read and written per call when uploading a weight (the file's bytes a
/// browser holds at once while loading a model).
pub const UPLOAD_PIECE_BYTES: usize = 32 << 20;

mod format;
use format::Chunk;
pub use format::{GpuLayout, QWeight, TensorType};

const EMBEDDING: &str = include_str!("../../kernels/embedding.wgsl");

// n: the threads, ids · cpr.
kernel_params!(EmbeddingParams { n: u32, cols: u32, row0: u32, nrows: u32, total: u32, first: u32, cpr: u32 });

/// Rows of x with `width` elements each: x is [.., width].
fn rows_of(op: &'static str, x: &Tensor, width: usize, what: &str) -> Result<usize> {
    match x.shape().last() {
        Some(&w) if w == width && x.dtype() == DType::F32 => Ok(x.len() / width.max(1)),
        _ => Err(GpuError::shape(op, format!("{what} {x:?} must be f32 [.., {width}]"))),
    }
}

impl Gpu {
    /// Uploads a weight [rows, cols] from its bytes exactly as stored in a GGUF file,
    /// split into buffers of at most one storage binding.
    pub fn upload_weight(
        &self,
        what: &str,
        format: TensorType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
    ) -> Result<QWeight> {
        self.upload_weight_chunked(what, format, rows, cols, bytes, self.max_binding())
    }

    /// `upload_weight` with buffers of at most `max_chunk_bytes` (bounded by the binding
    /// limit): tests force the split path on small weights with it.
    pub fn upload_weight_chunked(
        &self,
        what: &str,
        format: TensorType,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        max_chunk_bytes: u64,
    ) -> Result<QWeight> {
        let bs = format.block_size();
        let expected = (cols / bs) * format.type_size() * rows;
        if cols % bs != 0 || bytes.len() != expected {
            return Err(GpuError::shape(
                "upload_weight",
                format!(
                    "{what}: {} bytes for a {} weight [{rows}, {cols}] (rows of {bs}-element blocks, {expected} bytes)",
                    bytes.len(),
                    format.name()
                ),
            ));
        }
        let row_in = cols / bs * format.type_size();
        self.upload_weight_rows(what, format, rows, cols, max_chunk_bytes, UPLOAD_PIECE_BYTES, |r| {
            Ok::<_, GpuError>(&bytes[r.start * row_in..r.end * row_in])
        })
    }

    /// Uploads a weight [rows, cols] whose stored rows `read` gives a range at a time, at most
    /// `piece_bytes` of them per call (one row if a row is larger): a model file read from disk
    /// in slices never needs more than one piece in memory. Buffers as [`Gpu::upload_weight`].
    #[allow(clippy::too_many_arguments)]
    pub fn upload_weight_rows<B: AsRef<[u8]>, E: From<GpuError>>(
        &self,
        what: &str,
        format: TensorType,
        rows: usize,
        cols: usize,
        max_chunk_bytes: u64,
        piece_bytes: usize,
        mut read: impl FnMut(Range<usize>) -> std::result::Result<B, E>,
    ) -> std::result::Result<QWeight, E> {
        let bs = format.block_size();
        if cols % bs != 0 {
            let why = format!("{what}: {cols} columns are no whole number of {}-element {} blocks", bs, format.name());
            return Err(GpuError::shape("upload_weight", why).into());
        }
        let row_in = cols / bs * format.type_size();
        let row_gpu = format.gpu_row_bytes(cols) as u64;
        let limit = max_chunk_bytes.min(self.max_binding());
        if row_gpu > limit {
            return Err(GpuError::TooLarge { what: format!("{what} (one row)"), bytes: row_gpu, limit }.into());
        }
        // Rows of zero bytes (cols = 0) all fit in one chunk.
        let per_chunk = limit.checked_div(row_gpu).map_or(rows.max(1), |n| n as usize);
        // Pieces start at 4-byte offsets in the buffer: whole groups of 4 rows when a row's
        // length is not a multiple of 4.
        let per_piece = (piece_bytes / row_in.max(1)).max(1);
        let per_piece = if row_gpu % 4 == 0 { per_piece } else { per_piece.next_multiple_of(4) };
        let mut chunks = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = per_chunk.min(rows - row0);
            let data = self.zeros_static(what, &[n * row_gpu as usize], DType::Bytes)?;
            let mut r = 0;
            while r < n {
                let m = per_piece.min(n - r);
                let src = read(row0 + r..row0 + r + m)?;
                let src = src.as_ref();
                if src.len() != m * row_in {
                    let why = format!("{what}: {} bytes for {m} rows of {row_in} bytes", src.len());
                    return Err(GpuError::shape("upload_weight", why).into());
                }
                let offset = r as u64 * row_gpu;
                if format.gpu_block_bytes() == format.type_size() {
                    self.write_at(&data, offset, src);
                } else {
                    let mut packed = Vec::with_capacity(m * row_gpu as usize);
                    for block in src.chunks_exact(format.type_size()) {
                        format::repack_block(format, block, &mut packed);
                    }
                    self.write_at(&data, offset, &packed);
                }
                r += m;
            }
            chunks.push(Chunk { row0, rows: n, data });
            row0 += n;
        }
        Ok(QWeight { format, rows, cols, chunks })
    }

    /// A linear layer `x W^T (+ b)`: x [.., cols] → [.., rows].
    pub fn linear_q(&self, x: &Tensor, w: &QWeight, bias: Option<&Tensor>) -> Result<Tensor> {
        let t = rows_of("linear_q", x, w.cols, "input")?;
        let mut shape = x.shape().to_vec();
        *shape.last_mut().expect("checked") = w.rows;
        let out = self.empty(&shape, DType::F32)?;
        self.linear_q_rec(x, t, w, bias, &out, false)?;
        Ok(out)
    }

    /// `out (+)= x W^T (+ b)`: x [.., cols], out [.., rows].
    pub fn linear_q_into(
        &self,
        x: &Tensor,
        w: &QWeight,
        bias: Option<&Tensor>,
        out: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        let t = rows_of("linear_q", x, w.cols, "input")?;
        if rows_of("linear_q", out, w.rows, "output")? != t {
            return Err(GpuError::shape(
                "linear_q",
                format!("output {out:?} for input {x:?} and weight [{}, {}]", w.rows, w.cols),
            ));
        }
        self.linear_q_rec(x, t, w, bias, out, accumulate)
    }

    fn linear_q_rec(
        &self,
        x: &Tensor,
        t: usize,
        w: &QWeight,
        bias: Option<&Tensor>,
        out: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
        if let Some(b) = bias {
            if b.len() != w.rows {
                return Err(GpuError::shape("linear_q", format!("bias {b:?} for a weight of {} rows", w.rows)));
            }
        }
        let o = MatmulOpts { trans_b: true, ..Default::default() };
        for c in &w.chunks {
            if t <= MATVEC_MAX_ROWS {
                Matvec {
                    x,
                    rows: t,
                    width: w.cols,
                    w: &c.data,
                    n: c.rows,
                    loader: format::loader(w.format),
                    bias,
                    c: out,
                    ldc: w.rows,
                    c_off: c.row0,
                    accumulate,
                }
                .record(self)?;
                continue;
            }
            let d = Dims { z: 1, m: t, n: c.rows, k: w.cols, a_batch: 0, w_batch: 0, c_batch: 0 };
            let s = Strides { lda: w.cols, a_off: 0, ldc: w.rows, c_off: c.row0 };
            self.record_matmul(d, s, o, x, &c.data, format::loader(w.format), bias, out, accumulate)?;
        }
        Ok(())
    }

    /// The input gradient of a linear layer, `dY · W`: dy [.., rows] → [.., cols].
    pub fn linear_q_backward(&self, dy: &Tensor, w: &QWeight) -> Result<Tensor> {
        rows_of("linear_q_backward", dy, w.rows, "gradient")?;
        let mut shape = dy.shape().to_vec();
        *shape.last_mut().expect("checked") = w.cols;
        let out = self.empty(&shape, DType::F32)?;
        self.linear_q_backward_into(dy, w, &out, false)?;
        Ok(out)
    }

    /// `out (+)= dY · W`: dy [.., rows], out [.., cols]. Chunks of W's rows are chunks of
    /// the sum over rows, so every chunk after the first accumulates.
    pub fn linear_q_backward_into(&self, dy: &Tensor, w: &QWeight, out: &Tensor, accumulate: bool) -> Result<()> {
        let t = rows_of("linear_q_backward", dy, w.rows, "gradient")?;
        if rows_of("linear_q_backward", out, w.cols, "output")? != t {
            return Err(GpuError::shape(
                "linear_q_backward",
                format!("output {out:?} for gradient {dy:?} and weight [{}, {}]", w.rows, w.cols),
            ));
        }
        if w.chunks.is_empty() && !accumulate && out.bytes() > 0 {
            self.with_encoder(|e| e.clear_buffer(out.buffer(), 0, Some(out.bytes())));
        }
        for (i, c) in w.chunks.iter().enumerate() {
            let d = Dims { z: 1, m: t, n: w.cols, k: c.rows, a_batch: 0, w_batch: 0, c_batch: 0 };
            let s = Strides { lda: w.rows, a_off: c.row0, ldc: w.cols, c_off: 0 };
            let o = MatmulOpts::default();
            let acc = accumulate || i > 0;
            self.record_matmul(d, s, o, dy, &c.data, format::loader(w.format), None, out, acc)?;
        }
        Ok(())
    }

    /// Rows of a table, dequantized: ids u32 [n] → f32 [n, cols]. Ids past the table give
    /// zeros (callers validate ids; this only keeps reads in bounds).
    pub fn embedding(&self, table: &QWeight, ids: &Tensor) -> Result<Tensor> {
        if ids.dtype() != DType::U32 {
            return Err(GpuError::shape("embedding", format!("ids {ids:?} must be u32")));
        }
        let n = ids.len();
        let out = self.empty(&[n, table.cols], DType::F32)?;
        let cpr = table.cols.div_ceil(4);
        let loader = format::loader(table.format);
        let mut parts = loader.sources.to_vec();
        parts.extend([crate::ops::lib::PER_ELEMENT, EMBEDDING]);
        let variant = format!("// loader {}", loader.name);
        let k = Kernel { name: "embedding", variant: &variant, parts: &parts };
        let groups = grid_1d((n * cpr).div_ceil(256));
        if table.chunks.is_empty() && out.bytes() > 0 {
            self.with_encoder(|e| e.clear_buffer(out.buffer(), 0, Some(out.bytes())));
        }
        for (i, c) in table.chunks.iter().enumerate() {
            let u = u32_of;
            let params = EmbeddingParams {
                n: u(n * cpr),
                cols: u(table.cols),
                row0: u(c.row0),
                nrows: u(c.rows),
                total: u(table.rows),
                first: (i == 0) as u32,
                cpr: u(cpr),
            };
            self.dispatch(&k, &params, &[ids, &c.data, &out], groups)?;
        }
        Ok(out)
    }
}
