//! The storage formats of weights on the GPU: ggml's block types as GGUF stores them, their
//! block sizes, the repacking each needs for 4-byte alignment, and the loader part (a
//! kernels/quant/*.wgsl file) that reads each in the matmul and matvec kernels.

use crate::ops::matmul::{Loader, F32_LOADER};
use crate::tensor::Tensor;

const COMMON: &str = include_str!("../../kernels/quant/common.wgsl");

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

    /// Bytes per block on the GPU (after repacking for 4-byte alignment).
    pub fn gpu_block_bytes(self) -> usize {
        match self {
            QFormat::Q8_0 => 36,
            QFormat::Q4_0 => 20,
            QFormat::Q6_K => 212,
            f => f.block_bytes(),
        }
    }

    pub(super) fn loader(self) -> &'static Loader {
        macro_rules! q {
            ($name:literal, $file:literal) => {{
                const L: Loader =
                    Loader { name: $name, sources: &[COMMON, include_str!(concat!("../../kernels/quant/", $file))] };
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
    pub(super) fn repack_block(self, block: &[u8], out: &mut Vec<u8>) {
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
pub(super) struct Chunk {
    pub(super) row0: usize,
    pub(super) rows: usize,
    pub(super) data: Tensor,
}

/// A weight matrix [rows = out, cols = in] in its storage format, each row `cols` elements
/// in blocks along the row, possibly split by rows over several buffers.
#[derive(Debug, Clone)]
pub struct QWeight {
    pub format: QFormat,
    pub rows: usize,
    pub cols: usize,
    pub(super) chunks: Vec<Chunk>,
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
