//! GGML tensor types: sizes of every type (so a file's layout can be checked even for types we
//! cannot compute with) and f32 conversion of the supported ones.

use crate::{ModelFileError, Result};
use candle_core::quantized::{GgmlDType, QStorage, QTensor};
use candle_core::{Device, Tensor};
use std::borrow::Cow;

/// (name, elements per block, bytes per block) of a GGML type id, as in ggml.h / gguf-py.
pub fn ggml_type_info(id: u32) -> Option<(&'static str, usize, usize)> {
    Some(match id {
        0 => ("F32", 1, 4),
        1 => ("F16", 1, 2),
        2 => ("Q4_0", 32, 18),
        3 => ("Q4_1", 32, 20),
        6 => ("Q5_0", 32, 22),
        7 => ("Q5_1", 32, 24),
        8 => ("Q8_0", 32, 34),
        9 => ("Q8_1", 32, 40),
        10 => ("Q2_K", 256, 84),
        11 => ("Q3_K", 256, 110),
        12 => ("Q4_K", 256, 144),
        13 => ("Q5_K", 256, 176),
        14 => ("Q6_K", 256, 210),
        15 => ("Q8_K", 256, 292),
        16 => ("IQ2_XXS", 256, 66),
        17 => ("IQ2_XS", 256, 74),
        18 => ("IQ3_XXS", 256, 98),
        19 => ("IQ1_S", 256, 50),
        20 => ("IQ4_NL", 32, 18),
        21 => ("IQ3_S", 256, 110),
        22 => ("IQ2_S", 256, 82),
        23 => ("IQ4_XS", 256, 136),
        24 => ("I8", 1, 1),
        25 => ("I16", 1, 2),
        26 => ("I32", 1, 4),
        27 => ("I64", 1, 8),
        28 => ("F64", 1, 8),
        29 => ("IQ1_M", 256, 56),
        30 => ("BF16", 1, 2),
        34 => ("TQ1_0", 256, 54),
        35 => ("TQ2_0", 256, 66),
        39 => ("MXFP4", 32, 17),
        _ => return None,
    })
}

/// Name of a GGML type id for messages, also for ids this crate does not know.
pub fn ggml_type_name(id: u32) -> String {
    match ggml_type_info(id) {
        Some((name, _, _)) => name.to_string(),
        None => format!("type id {id}"),
    }
}

/// The tensor types labelcast computes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TensorType {
    F32,
    F16,
    BF16,
    Q8_0,
    Q4_0,
    Q4_1,
    Q4K,
    Q5K,
    Q6K,
}

impl TensorType {
    pub const ALL: [TensorType; 9] = [
        TensorType::F32,
        TensorType::F16,
        TensorType::BF16,
        TensorType::Q8_0,
        TensorType::Q4_0,
        TensorType::Q4_1,
        TensorType::Q4K,
        TensorType::Q5K,
        TensorType::Q6K,
    ];

    /// The GGML type id (as stored in GGUF tensor infos).
    pub fn ggml_id(self) -> u32 {
        match self {
            TensorType::F32 => 0,
            TensorType::F16 => 1,
            TensorType::Q4_0 => 2,
            TensorType::Q4_1 => 3,
            TensorType::Q8_0 => 8,
            TensorType::Q4K => 12,
            TensorType::Q5K => 13,
            TensorType::Q6K => 14,
            TensorType::BF16 => 30,
        }
    }

    pub fn from_ggml_id(id: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.ggml_id() == id)
    }

    pub fn name(self) -> &'static str {
        ggml_type_info(self.ggml_id()).map_or("?", |i| i.0)
    }

    /// Elements per block (1 for the float types).
    pub fn block_size(self) -> usize {
        ggml_type_info(self.ggml_id()).map_or(1, |i| i.1)
    }

    /// Bytes per block.
    pub fn type_size(self) -> usize {
        ggml_type_info(self.ggml_id()).map_or(1, |i| i.2)
    }

    /// Bytes of one row of `n` elements (`n` a multiple of the block size).
    pub fn row_bytes(self, n: usize) -> usize {
        n / self.block_size() * self.type_size()
    }

    pub fn is_quantized(self) -> bool {
        self.block_size() > 1
    }

    pub fn to_candle(self) -> GgmlDType {
        match self {
            TensorType::F32 => GgmlDType::F32,
            TensorType::F16 => GgmlDType::F16,
            TensorType::BF16 => GgmlDType::BF16,
            TensorType::Q8_0 => GgmlDType::Q8_0,
            TensorType::Q4_0 => GgmlDType::Q4_0,
            TensorType::Q4_1 => GgmlDType::Q4_1,
            TensorType::Q4K => GgmlDType::Q4K,
            TensorType::Q5K => GgmlDType::Q5K,
            TensorType::Q6K => GgmlDType::Q6K,
        }
    }
}

impl std::fmt::Display for TensorType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Converts little-endian tensor data of shape `dims` (outermost first, last dim contiguous)
/// to an f32 tensor on the CPU. `bytes` must hold exactly the tensor (the parsers check this;
/// a mismatch is an error here, not a panic).
pub fn to_f32_tensor(name: &str, ty: TensorType, dims: &[usize], bytes: &[u8]) -> Result<Tensor> {
    let n: usize = dims.iter().product();
    let inner = dims.last().copied().unwrap_or(1);
    if inner % ty.block_size() != 0 || bytes.len() != ty.row_bytes(n) || n % ty.block_size() != 0 {
        return Err(ModelFileError::Config(format!(
            "tensor {name}: {} bytes do not hold a {ty} tensor of shape {dims:?}",
            bytes.len()
        )));
    }
    let dev = &Device::Cpu;
    // The float types are read element by element: that is endian-independent and needs no
    // alignment, and F32 then costs one pass instead of candle's copy + conversion.
    let values: Vec<f32> = match ty {
        TensorType::F32 => bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        TensorType::F16 => bytes.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        TensorType::BF16 => bytes.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        _ => return dequantize(ty, dims, bytes),
    };
    Ok(Tensor::from_vec(values, dims, dev)?)
}

/// Quantized blocks through candle. candle reinterprets the bytes as `#[repr(C)]` block structs
/// (asserting alignment), so bytes at an odd address are first copied to an aligned buffer; a
/// GGUF keeps tensor data 32-aligned within the file, so this only happens when the buffer
/// holding the file is itself misaligned.
fn dequantize(ty: TensorType, dims: &[usize], bytes: &[u8]) -> Result<Tensor> {
    let dev = &Device::Cpu;
    if bytes.is_empty() {
        return Ok(Tensor::zeros(dims, candle_core::DType::F32, dev)?);
    }
    if bytes.as_ptr().align_offset(8) == 0 {
        return dequantize_aligned(ty, dims, bytes);
    }
    let mut words = vec![0u64; bytes.len().div_ceil(8)];
    // SAFETY: a u64 buffer is valid as bytes; we view `bytes.len()` <= 8 * words.len() of them.
    let view = unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr().cast::<u8>(), bytes.len()) };
    view.copy_from_slice(bytes);
    dequantize_aligned(ty, dims, view)
}

fn dequantize_aligned(ty: TensorType, dims: &[usize], bytes: &[u8]) -> Result<Tensor> {
    let dev = &Device::Cpu;
    let storage = QStorage::from_data(Cow::Borrowed(bytes), dev, ty.to_candle())?;
    let q = QTensor::new(storage, dims)?;
    Ok(q.dequantize(dev)?)
}
