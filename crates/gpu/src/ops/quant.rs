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
use crate::dispatch::{grid_1d, Kernel, Params};
use crate::error::{GpuError, Result};
use crate::ops::matmul::{Dims, Loader, MatmulOpts, Strides, F32_LOADER};
use crate::ops::matvec::{Matvec, MATVEC_MAX_ROWS};
use crate::tensor::{DType, Tensor};

const COMMON: &str = include_str!("../kernels/quant/common.wgsl");
const EMBEDDING: &str = include_str!("../kernels/embedding.wgsl");

/// The storage format of a weight: ggml's types, as GGUF stores them.
#[allow(non_camel_case_types)] // ggml's names
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QFormat {
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_1,
    Q4_K,
    Q5_K,
    Q6_K,
}

impl QFormat {
    pub const ALL: [QFormat; 9] = [
        QFormat::F32,
        QFormat::F16,
        QFormat::BF16,
        QFormat::Q8_0,
        QFormat::Q4_0,
        QFormat::Q4_1,
        QFormat::Q4_K,
        QFormat::Q5_K,
        QFormat::Q6_K,
    ];

    /// The format of a GGML type id (as in GGUF tensor infos), if supported.
    pub fn from_ggml_id(id: u32) -> Option<QFormat> {
        Some(match id {
            0 => QFormat::F32,
            1 => QFormat::F16,
            2 => QFormat::Q4_0,
            3 => QFormat::Q4_1,
            8 => QFormat::Q8_0,
            12 => QFormat::Q4_K,
            13 => QFormat::Q5_K,
            14 => QFormat::Q6_K,
            30 => QFormat::BF16,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            QFormat::F32 => "F32",
            QFormat::F16 => "F16",
            QFormat::BF16 => "BF16",
            QFormat::Q8_0 => "Q8_0",
            QFormat::Q4_0 => "Q4_0",
            QFormat::Q4_1 => "Q4_1",
            QFormat::Q4_K => "Q4_K",
            QFormat::Q5_K => "Q5_K",
            QFormat::Q6_K => "Q6_K",
        }
    }

    /// Elements per block (1 for the float formats).
    pub fn block_size(self) -> usize {
        match self {
            QFormat::F32 | QFormat::F16 | QFormat::BF16 => 1,
            QFormat::Q8_0 | QFormat::Q4_0 | QFormat::Q4_1 => 32,
            QFormat::Q4_K | QFormat::Q5_K | QFormat::Q6_K => 256,
        }
    }

    /// Bytes per block as stored in GGUF.
    pub fn block_bytes(self) -> usize {
        match self {
            QFormat::F32 => 4,
            QFormat::F16 | QFormat::BF16 => 2,
            QFormat::Q8_0 => 34,
            QFormat::Q4_0 => 18,
            QFormat::Q4_1 => 20,
            QFormat::Q4_K => 144,
            QFormat::Q5_K => 176,
            QFormat::Q6_K => 210,
        }
    }

    /// Bytes per block on the GPU (after repacking for alignment).
    fn gpu_block_bytes(self) -> usize {
        match self {
            QFormat::Q8_0 => 36,
            QFormat::Q4_0 => 20,
            QFormat::Q6_K => 212,
            f => f.block_bytes(),
        }
    }

    fn loader(self) -> &'static Loader {
        macro_rules! q {
            ($name:literal, $file:literal) => {{
                const L: Loader = Loader {
                    name: $name,
                    sources: &[COMMON, include_str!(concat!("../kernels/quant/", $file))],
                };
                &L
            }};
        }
        match self {
            QFormat::F32 => &F32_LOADER,
            QFormat::F16 => q!("f16", "f16.wgsl"),
            QFormat::BF16 => q!("bf16", "bf16.wgsl"),
            QFormat::Q8_0 => q!("q8_0", "q8_0.wgsl"),
            QFormat::Q4_0 => q!("q4_0", "q4_0.wgsl"),
            QFormat::Q4_1 => q!("q4_1", "q4_1.wgsl"),
            QFormat::Q4_K => q!("q4_k", "q4_k.wgsl"),
            QFormat::Q5_K => q!("q5_k", "q5_k.wgsl"),
            QFormat::Q6_K => q!("q6_k", "q6_k.wgsl"),
        }
    }

    /// GGUF bytes of one block → GPU bytes (appended to `out`).
    fn repack_block(self, block: &[u8], out: &mut Vec<u8>) {
        match self {
            QFormat::Q8_0 | QFormat::Q4_0 => {
                out.extend_from_slice(&block[..2]);
                out.extend_from_slice(&[0, 0]);
                out.extend_from_slice(&block[2..]);
            }
            QFormat::Q6_K => {
                out.extend_from_slice(block);
                out.extend_from_slice(&[0, 0]);
            }
            _ => out.extend_from_slice(block),
        }
    }
}

/// Rows `row0 .. row0 + rows` of a weight in one buffer.
#[derive(Debug, Clone)]
struct Chunk {
    row0: usize,
    rows: usize,
    data: Tensor,
}

/// A weight matrix [rows = out, cols = in] in its storage format, each row `cols` elements
/// in blocks along the row, possibly split by rows over several buffers.
#[derive(Debug, Clone)]
pub struct QWeight {
    pub format: QFormat,
    pub rows: usize,
    pub cols: usize,
    chunks: Vec<Chunk>,
}

impl QWeight {
    /// How many buffers hold the weight.
    pub fn num_chunks(&self) -> usize {
        self.chunks.len()
    }

    /// Bytes the weight takes on the GPU.
    pub fn gpu_bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.data.bytes()).sum()
    }
}

/// Rows of x with `width` elements each: x is [.., width].
fn rows_of(op: &'static str, x: &Tensor, width: usize, what: &str) -> Result<usize> {
    match x.shape().last() {
        Some(&w) if w == width && x.dtype() == DType::F32 => Ok(x.len() / width.max(1)),
        _ => Err(GpuError::shape(
            op,
            format!("{what} {x:?} must be f32 [.., {width}]"),
        )),
    }
}

impl Gpu {
    /// Uploads a weight [rows, cols] from its bytes exactly as stored in a GGUF file,
    /// split into buffers of at most one storage binding.
    pub fn upload_weight(
        &self,
        what: &str,
        format: QFormat,
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
        format: QFormat,
        rows: usize,
        cols: usize,
        bytes: &[u8],
        max_chunk_bytes: u64,
    ) -> Result<QWeight> {
        let bs = format.block_size();
        let expected = (cols / bs) * format.block_bytes() * rows;
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
        let row_in = cols / bs * format.block_bytes();
        let row_gpu = (cols / bs * format.gpu_block_bytes()) as u64;
        let limit = max_chunk_bytes.min(self.max_binding());
        if row_gpu > limit {
            return Err(GpuError::TooLarge {
                what: format!("{what} (one row)"),
                bytes: row_gpu,
                limit,
            });
        }
        // Rows of zero bytes (cols = 0) all fit in one chunk.
        let per_chunk = limit.checked_div(row_gpu).map_or(rows.max(1), |n| n as usize);
        let mut chunks = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = per_chunk.min(rows - row0);
            let src = &bytes[row0 * row_in..(row0 + n) * row_in];
            let data = if format.gpu_block_bytes() == format.block_bytes() {
                self.upload_static(what, src, &[src.len()], DType::Bytes)?
            } else {
                let mut packed = Vec::with_capacity(n * row_gpu as usize);
                for block in src.chunks_exact(format.block_bytes()) {
                    format.repack_block(block, &mut packed);
                }
                self.upload_static(what, &packed, &[packed.len()], DType::Bytes)?
            };
            chunks.push(Chunk { row0, rows: n, data });
            row0 += n;
        }
        Ok(QWeight {
            format,
            rows,
            cols,
            chunks,
        })
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
                return Err(GpuError::shape(
                    "linear_q",
                    format!("bias {b:?} for a weight of {} rows", w.rows),
                ));
            }
        }
        let o = MatmulOpts {
            trans_b: true,
            ..Default::default()
        };
        for c in &w.chunks {
            if t <= MATVEC_MAX_ROWS {
                Matvec {
                    x,
                    rows: t,
                    width: w.cols,
                    w: &c.data,
                    n: c.rows,
                    loader: w.format.loader(),
                    bias,
                    c: out,
                    ldc: w.rows,
                    c_off: c.row0,
                    accumulate,
                }
                .record(self)?;
                continue;
            }
            let d = Dims {
                z: 1,
                m: t,
                n: c.rows,
                k: w.cols,
                a_batch: 0,
                w_batch: 0,
                c_batch: 0,
            };
            let s = Strides {
                lda: w.cols,
                a_off: 0,
                ldc: w.rows,
                c_off: c.row0,
            };
            self.record_matmul(d, s, o, x, &c.data, w.format.loader(), bias, out, accumulate)?;
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
    pub fn linear_q_backward_into(
        &self,
        dy: &Tensor,
        w: &QWeight,
        out: &Tensor,
        accumulate: bool,
    ) -> Result<()> {
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
            let d = Dims {
                z: 1,
                m: t,
                n: w.cols,
                k: c.rows,
                a_batch: 0,
                w_batch: 0,
                c_batch: 0,
            };
            let s = Strides {
                lda: w.rows,
                a_off: c.row0,
                ldc: w.cols,
                c_off: 0,
            };
            let o = MatmulOpts::default();
            let acc = accumulate || i > 0;
            self.record_matmul(d, s, o, dy, &c.data, w.format.loader(), None, out, acc)?;
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
        let loader = table.format.loader();
        let mut parts = loader.sources.to_vec();
        parts.push(EMBEDDING);
        let variant = format!("// loader {}", loader.name);
        let k = Kernel {
            name: "embedding",
            variant: &variant,
            parts: &parts,
        };
        let groups = grid_1d((n * cpr).div_ceil(256));
        if table.chunks.is_empty() && out.bytes() > 0 {
            self.with_encoder(|e| e.clear_buffer(out.buffer(), 0, Some(out.bytes())));
        }
        for (i, c) in table.chunks.iter().enumerate() {
            let params = Params::new()
                .u(n)
                .u(table.cols)
                .u(c.row0)
                .u(c.rows)
                .u(table.rows)
                .u((i == 0) as usize)
                .u(cpr);
            self.dispatch(&k, params, &[ids, &c.data, &out], groups)?;
        }
        Ok(out)
    }
}
