//! The storage formats of weights on the GPU: ggml's block types as GGUF stores them, their
//! block sizes, the repacking each needs for 4-byte alignment, and the loader part (a
//! kernels/quant/*.wgsl file) that reads each in the matmul and matvec kernels.

use crate::ops::lib::W_ELEMENTS;
use crate::ops::matmul::{Loader, F32_LOADER};
use crate::tensor::Tensor;

const COMMON: &str = include_str!("../../kernels/quant/common.wgsl");
/// The packed 6-bit scales and mins of the Q4_K and Q5_K super-blocks.
const K_SCALES: &str = include_str!("../../kernels/quant/k_scales.wgsl");

/// The storage format of a weight is labelcast-modelfile's [`TensorType`] (ggml's types, as
/// GGUF stores them, with their block sizes): one table for the file and the GPU. What is the
/// GPU's own is how each lies in a buffer and which loader part reads it.
pub use labelcast_modelfile::TensorType;

/// How a [`TensorType`] lies in a GPU buffer.
pub trait GpuLayout {
    /// Bytes per block on the GPU (after repacking for 4-byte alignment).
    fn gpu_block_bytes(self) -> usize;

    /// Bytes of one row of `cols` elements on the GPU (`cols` a multiple of the block size).
    fn gpu_row_bytes(self, cols: usize) -> usize;
}

impl GpuLayout for TensorType {
    fn gpu_block_bytes(self) -> usize {
        match self {
            TensorType::Q8_0 => 36,
            TensorType::Q4_0 => 20,
            TensorType::Q6K => 212,
            f => f.type_size(),
        }
    }

    fn gpu_row_bytes(self, cols: usize) -> usize {
        cols / self.block_size() * self.gpu_block_bytes()
    }
}

/// The loader part (kernels/quant/*.wgsl) that reads a weight of this type in the kernels.
pub(super) fn loader(t: TensorType) -> &'static Loader {
    macro_rules! q {
        ($name:literal, $($part:ident,)* $file:literal) => {{
            const L: Loader = Loader {
                name: $name,
                sources: &[COMMON, $($part,)* include_str!(concat!("../../kernels/quant/", $file))],
            };
            &L
        }};
    }
    match t {
        TensorType::F32 => &F32_LOADER,
        TensorType::F16 => q!("f16", W_ELEMENTS, "f16.wgsl"),
        TensorType::BF16 => q!("bf16", W_ELEMENTS, "bf16.wgsl"),
        TensorType::Q8_0 => q!("q8_0", "q8_0.wgsl"),
        TensorType::Q4_0 => q!("q4_0", "q4_0.wgsl"),
        TensorType::Q4_1 => q!("q4_1", "q4_1.wgsl"),
        TensorType::Q4K => q!("q4_k", K_SCALES, "q4_k.wgsl"),
        TensorType::Q5K => q!("q5_k", K_SCALES, "q5_k.wgsl"),
        TensorType::Q6K => q!("q6_k", "q6_k.wgsl"),
    }
}

/// GGUF bytes of one block → GPU bytes (appended to `out`).
pub(super) fn repack_block(t: TensorType, block: &[u8], out: &mut Vec<u8>) {
    match t {
        TensorType::Q8_0 | TensorType::Q4_0 => {
            out.extend_from_slice(&block[..2]);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&block[2..]);
        }
        TensorType::Q6K => {
            out.extend_from_slice(block);
            out.extend_from_slice(&[0, 0]);
        }
        _ => out.extend_from_slice(block),
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
    pub format: TensorType,
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
