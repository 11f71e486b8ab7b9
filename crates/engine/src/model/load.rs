//! From a loaded model file (labelcast-modelfile) to the engine's weights and text side.

use std::collections::HashMap;
use std::sync::Arc;

use candle_core::quantized::ggml_file::qtensor_from_ggml;
use candle_core::Device;
use labelcast_modelfile::metadata::{Array, Value};
use labelcast_modelfile::{ByteSource, Metadata, ModelFile, SharedBytes, TensorType};
use labelcast_text::{HfText, MetaValue, ModelText, TokenizerData};

use super::matrix::{CpuWeights, Matrix, CPU_WEIGHTS_LIMIT, DENSE_BUDGET};
use super::weights::{expected_tensors, Weights};
use crate::error::{EngineError, Result};

impl Weights {
    /// The weights as [`CpuWeights::Auto`] holds them: dense f32 when they fit
    /// [`DENSE_BUDGET`], else the matrices kept quantized.
    pub fn from_model_file(file: &ModelFile) -> Result<Self> {
        Self::from_model_file_with(file, CpuWeights::Auto)
    }

    /// Dequantizes the tensors the math reads to f32 one at a time (peak memory: the file plus
    /// the weights), except, when quantizing, the matrices stored in a block format (the
    /// embedding, projections and output layer), which keep the file's blocks.
    pub fn from_model_file_with(file: &ModelFile, how: CpuWeights) -> Result<Self> {
        let quantize = match how {
            CpuWeights::Dense => false,
            CpuWeights::Quantized => true,
            CpuWeights::Auto => auto_quantizes(&file.config),
        };
        let (mut dense, mut kept) = (HashMap::new(), HashMap::new());
        for (name, dims) in expected_tensors(&file.config) {
            let ty = file.tensor_type(&name)?;
            if quantize && kept_in_blocks(&dims, ty) {
                let raw = file.raw(&name)?;
                let q = qtensor_from_ggml(ty.to_candle(), &raw.bytes, dims, &Device::Cpu)?;
                kept.insert(name, Matrix::Quantized(Arc::new(q)));
            } else {
                dense.insert(name.clone(), file.tensor_f32(&name)?);
            }
        }
        Weights::from_parts(file.config.clone(), dense, kept)
    }
}

/// The bytes of a model's weights in f32.
fn dense_bytes(c: &labelcast_modelfile::ModelConfig) -> u64 {
    expected_tensors(c).iter().map(|(_, dims)| 4 * dims.iter().product::<usize>() as u64).sum()
}

/// Whether [`CpuWeights::Auto`] keeps this model's matrices quantized: its f32 weights exceed
/// [`DENSE_BUDGET`].
fn auto_quantizes(c: &labelcast_modelfile::ModelConfig) -> bool {
    dense_bytes(c) > DENSE_BUDGET
}

/// Whether a quantizing load keeps this tensor in the file's blocks: a matrix stored in a block
/// format. The embedding too: its rows are dequantized as they are looked up, and in f32 it
/// would outweigh the rest (Qwen2.5-14B: 3.1 GB against 8.5 GB of blocks).
fn kept_in_blocks(dims: &[usize], ty: TensorType) -> bool {
    dims.len() == 2 && ty.is_quantized()
}

/// The bytes the CPU backend's weights of this model take, held as [`CpuWeights::Auto`] holds
/// them (dense f32, or the file's blocks for the matrices it keeps quantized).
pub fn cpu_bytes(file: &ModelFile) -> Result<u64> {
    if !auto_quantizes(&file.config) {
        return Ok(dense_bytes(&file.config));
    }
    let mut total = 0;
    for (name, dims) in expected_tensors(&file.config) {
        let ty = file.tensor_type(&name)?;
        total += if kept_in_blocks(&dims, ty) {
            dims[0] as u64 * ty.row_bytes(dims[1]) as u64
        } else {
            4 * dims.iter().product::<usize>() as u64
        };
    }
    Ok(total)
}

/// Whether the CPU backend can hold this model's weights where memory is bounded (a browser):
/// the error says how much they need against [`CPU_WEIGHTS_LIMIT`].
pub fn check_cpu_fits(file: &ModelFile) -> Result<()> {
    let Some(limit) = CPU_WEIGHTS_LIMIT else { return Ok(()) };
    let need = cpu_bytes(file)?;
    if need <= limit {
        return Ok(());
    }
    let gib = |b| labelcast_core::words::gib(b, 1);
    Err(EngineError::Invalid(format!(
        "{}: its weights take {} on the CPU, more than the {} this browser's WebAssembly memory can \
         give them; compute on WebGPU, or choose a smaller or more quantized model",
        file.name,
        gib(need),
        gib(limit)
    )))
}

/// A GGUF file's bytes as a model file and its text side (tokenizer, chat template from the
/// metadata): what every backend's GGUF constructor starts from.
pub fn parse_gguf(name: &str, bytes: impl Into<SharedBytes>) -> Result<(ModelFile, ModelText)> {
    let file = ModelFile::from_gguf(name, bytes)?;
    let text = text_from_gguf(&file)?;
    Ok((file, text))
}

/// `parse_gguf` for a file read range by range (a browser's file too large for its memory):
/// the header is read now, each tensor when a backend asks for it.
pub fn parse_gguf_source(name: &str, source: Arc<dyn ByteSource>) -> Result<(ModelFile, ModelText)> {
    let file = ModelFile::from_gguf_source(name, source)?;
    let text = text_from_gguf(&file)?;
    Ok((file, text))
}

/// Safetensors shards (name, bytes) with config.json, and the text side from the Hugging Face
/// text files (tokenizer.json, tokenizer_config.json, chat_template.jinja).
pub fn parse_safetensors(
    name: &str,
    shards: Vec<(String, Vec<u8>)>,
    config_json: &str,
    text: HfText<'_>,
) -> Result<(ModelFile, ModelText)> {
    let file = ModelFile::from_safetensors(name, shards, config_json)?;
    let text = ModelText::from_hf(text)?;
    Ok((file, text))
}

/// `parse_safetensors` for shards read range by range (a browser's files too large for its
/// memory): the headers are read now, each tensor when a backend asks for it.
pub fn parse_safetensors_sources(
    name: &str,
    shards: Vec<(String, Arc<dyn ByteSource>)>,
    config_json: &str,
    text: HfText<'_>,
) -> Result<(ModelFile, ModelText)> {
    let file = ModelFile::from_safetensors_sources(name, shards, config_json)?;
    let text = ModelText::from_hf(text)?;
    Ok((file, text))
}

/// The tokenizer, chat template and special ids stored in a GGUF's metadata. A safetensors
/// model keeps them in tokenizer.json, tokenizer_config.json and chat_template.jinja instead
/// (`ModelText::from_hf`).
pub fn text_from_gguf(file: &ModelFile) -> Result<ModelText> {
    let meta = file.gguf_metadata().ok_or_else(|| {
        EngineError::Invalid(format!("{}: not a GGUF file: its tokenizer is in tokenizer.json", file.name))
    })?;
    let data = TokenizerData::from_lookup(|key| meta_value(meta, key))?;
    Ok(ModelText::from_gguf(&data)?)
}

fn meta_value(meta: &Metadata, key: &str) -> Option<MetaValue> {
    Some(match meta.get(key)? {
        Value::String(s) => MetaValue::Str(s.clone()),
        Value::Bool(b) => MetaValue::Bool(*b),
        Value::F32(f) => MetaValue::Floats(vec![*f]),
        Value::F64(f) => MetaValue::Floats(vec![*f as f32]),
        Value::Array(a) => match a {
            Array::String(s) => MetaValue::Strs(s.clone()),
            Array::F32(f) => MetaValue::Floats(f.clone()),
            Array::F64(f) => MetaValue::Floats(f.iter().map(|&x| x as f32).collect()),
            other => MetaValue::Ints(other.to_i64_vec()?),
        },
        v => MetaValue::Int(i64::try_from(v.as_i128()?).ok()?),
    })
}
