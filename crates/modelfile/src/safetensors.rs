//! safetensors shards + config.json -> ModelFile. Tensors already carry Hugging Face names and
//! [out, in] shapes; nothing is permuted.

use crate::dtype::TensorType;
use crate::model::{Entry, Format};
use crate::{Architecture, ByteSource, FileBytes, ModelConfig, ModelFile, ModelFileError, Result, SharedBytes};
use safetensors::tensor::Metadata;
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::Deserialize;
use std::sync::Arc;

/// The config.json fields the math needs (transformers' LlamaConfig / MistralConfig / Qwen2Config).
#[derive(Deserialize)]
struct HfConfig {
    hidden_size: usize,
    intermediate_size: usize,
    num_hidden_layers: usize,
    num_attention_heads: usize,
    num_key_value_heads: Option<usize>,
    head_dim: Option<usize>,
    rope_theta: Option<f64>,
    rms_norm_eps: Option<f64>,
    max_position_embeddings: Option<usize>,
    vocab_size: usize,
    tie_word_embeddings: Option<bool>,
    sliding_window: Option<usize>,
    use_sliding_window: Option<bool>,
    max_window_layers: Option<usize>,
    layer_types: Option<Vec<String>>,
}

/// Parses config.json into a ModelConfig (not yet checked against any tensors).
pub fn config_from_json(file: &str, json: &str) -> Result<(ModelConfig, serde_json::Value)> {
    let value: serde_json::Value =
        serde_json::from_str(json).map_err(|e| ModelFileError::corrupt(file, format!("not JSON: {e}")))?;
    let model_type = value.get("model_type").and_then(|v| v.as_str());
    let (arch, default_ctx) = match model_type {
        Some("llama") => (Architecture::Llama, 2048),
        Some("mistral") => (Architecture::Llama, 4096 * 32),
        Some("qwen2") => (Architecture::Qwen2, 32768),
        Some(other) => return Err(ModelFileError::UnsupportedArchitecture(other.to_string())),
        None => return Err(ModelFileError::corrupt(file, "no \"model_type\" string")),
    };
    let c = HfConfig::deserialize(&value).map_err(|e| ModelFileError::corrupt(file, e.to_string()))?;
    let rope_scaling = crate::rope::from_hf_json(file, &value)?;
    let sliding_window = sliding_window(file, &c, model_type.unwrap_or_default())?;
    let head_dim = match c.head_dim {
        Some(d) => d,
        None => c
            .hidden_size
            .checked_div(c.num_attention_heads)
            .ok_or_else(|| ModelFileError::Config(format!("{file}: num_attention_heads is 0")))?,
    };
    let config = ModelConfig {
        arch,
        vocab_size: c.vocab_size,
        hidden_size: c.hidden_size,
        intermediate_size: c.intermediate_size,
        num_layers: c.num_hidden_layers,
        num_heads: c.num_attention_heads,
        num_kv_heads: c.num_key_value_heads.unwrap_or(c.num_attention_heads),
        head_dim,
        rope_theta: c.rope_theta.unwrap_or(10_000.0),
        rms_norm_eps: c.rms_norm_eps.unwrap_or(1e-6),
        max_position_embeddings: c.max_position_embeddings.unwrap_or(default_ctx),
        tie_word_embeddings: c.tie_word_embeddings.unwrap_or(false),
        rope_scaling,
        sliding_window,
    };
    Ok((config, value))
}

/// The attention window as transformers applies it. Mistral: `sliding_window` on every layer
/// (null: none). Qwen2: only with `use_sliding_window`, and only on layers from
/// `max_window_layers` on. Llama has no window (LlamaConfig ignores the key). Per-layer
/// `layer_types` (transformers 5) must agree. A window on some layers only is refused: the
/// engine has one window for all layers.
fn sliding_window(file: &str, c: &HfConfig, model_type: &str) -> Result<Option<usize>> {
    let qwen2 = model_type == "qwen2";
    let window = match model_type {
        "qwen2" => c.sliding_window.filter(|_| c.use_sliding_window == Some(true)),
        "mistral" => c.sliding_window,
        _ => None,
    };
    // Counted, not collected: num_hidden_layers comes from the file and may be absurd.
    let n = c.num_hidden_layers;
    let (count, total) = match (&c.layer_types, window) {
        (Some(types), _) => (types.iter().filter(|t| *t == "sliding_attention").count(), types.len()),
        (None, None) => (0, n),
        (None, Some(_)) if qwen2 => (n.saturating_sub(c.max_window_layers.unwrap_or(28)), n),
        (None, Some(_)) => (n, n),
    };
    let refuse = |why: String| Err(ModelFileError::Config(format!("{file}: {why}")));
    if let Some(t) = c.layer_types.iter().flatten().find(|t| *t != "sliding_attention" && *t != "full_attention") {
        return refuse(format!("layer type \"{t}\" is not supported"));
    }
    match (count, window) {
        (0, _) => Ok(None),
        (k, Some(w)) if k == total => Ok(Some(w)),
        (_, None) => refuse("layer_types asks for sliding attention but sliding_window is not set".into()),
        (k, Some(w)) => {
            refuse(format!("sliding-window attention (window {w}) on {k} of {total} layers only is not supported"))
        }
    }
}

fn st_error(file: &str, e: SafeTensorError) -> ModelFileError {
    match e {
        SafeTensorError::HeaderTooSmall
        | SafeTensorError::InvalidHeaderLength
        | SafeTensorError::MetadataIncompleteBuffer => ModelFileError::truncated(file, format!("safetensors: {e}")),
        e => ModelFileError::corrupt(file, format!("safetensors: {e}")),
    }
}

/// One shard's header: its length in bytes (after the 8-byte length) and its tensors.
fn shard_header(file: &str, bytes: &FileBytes) -> Result<(usize, Metadata)> {
    let read = |r: std::ops::Range<u64>| bytes.read(file, r);
    if let Some(held) = bytes.in_memory() {
        return SafeTensors::read_metadata(held).map_err(|e| st_error(file, e));
    }
    // Read range by range: the length, the header, then the same checks read_metadata makes
    // against the whole file (the offsets tile the data section, which ends the file).
    let len = bytes.len();
    if len < 8 {
        return Err(st_error(file, SafeTensorError::HeaderTooSmall));
    }
    let n = u64::from_le_bytes(read(0..8)?.as_ref().try_into().unwrap_or_default());
    if n > MAX_HEADER_BYTES {
        return Err(st_error(file, SafeTensorError::HeaderTooLarge));
    }
    if 8 + n > len {
        return Err(st_error(file, SafeTensorError::InvalidHeaderLength));
    }
    let header = read(8..8 + n)?;
    let text = std::str::from_utf8(&header).map_err(|e| st_error(file, SafeTensorError::InvalidHeader(e)))?;
    let meta: Metadata =
        serde_json::from_str(text).map_err(|e| st_error(file, SafeTensorError::InvalidHeaderDeserialization(e)))?;
    if 8 + n + meta.data_len() as u64 != len {
        return Err(st_error(file, SafeTensorError::MetadataIncompleteBuffer));
    }
    Ok((n as usize, meta))
}

/// safetensors' own bound on a header (100 MB).
const MAX_HEADER_BYTES: u64 = 100_000_000;

impl ModelFile {
    /// Loads safetensors shards (each a (file name, bytes) pair) described by config.json.
    /// `name` names the model in messages. Shard bytes are kept, not copied.
    pub fn from_safetensors<S, B>(
        name: &str,
        shards: impl IntoIterator<Item = (S, B)>,
        config_json: &str,
    ) -> Result<Self>
    where
        S: Into<String>,
        B: Into<SharedBytes>,
    {
        let shards = shards.into_iter().map(|(f, b)| (f.into(), FileBytes::Memory(b.into()))).collect();
        Self::from_safetensors_files(name, shards, config_json)
    }

    /// [`ModelFile::from_safetensors`] for shards read range by range: each header is read
    /// now, each tensor when asked for (a browser's shards too large for its memory).
    pub fn from_safetensors_sources(
        name: &str,
        shards: Vec<(String, Arc<dyn ByteSource>)>,
        config_json: &str,
    ) -> Result<Self> {
        let shards = shards.into_iter().map(|(f, s)| (f, FileBytes::Streamed(s))).collect();
        Self::from_safetensors_files(name, shards, config_json)
    }

    fn from_safetensors_files(name: &str, shards: Vec<(String, FileBytes)>, config_json: &str) -> Result<Self> {
        let (config, json) = config_from_json(&format!("{name}/config.json"), config_json)?;
        let mut entries = Vec::new();
        let mut kept = Vec::new();
        for (shard, (file, bytes)) in shards.into_iter().enumerate() {
            let (header_len, meta) = shard_header(&file, &bytes)?;
            let data_start = 8 + header_len;
            let mut infos: Vec<_> = meta.tensors().into_iter().collect();
            infos.sort_by_key(|(_, i)| i.data_offsets.0);
            for (tensor, info) in infos {
                let dtype = match info.dtype {
                    Dtype::F32 => Ok(TensorType::F32),
                    Dtype::F16 => Ok(TensorType::F16),
                    Dtype::BF16 => Ok(TensorType::BF16),
                    other => Err(format!("{other:?}")),
                };
                // The header's checks made the offsets tile the data section exactly.
                let range = (data_start + info.data_offsets.0) as u64..(data_start + info.data_offsets.1) as u64;
                let entry = Entry {
                    shard,
                    dtype,
                    dims: info.shape.clone(),
                    range,
                    unpermute: None,
                    source_name: tensor.clone(),
                };
                entries.push((tensor, entry));
            }
            kept.push(bytes);
        }
        if kept.is_empty() {
            return Err(ModelFileError::Config(format!("{name}: no safetensors files given")));
        }
        // A tied model may still ship lm_head.weight (a copy): the config flag decides what the
        // math reads, and an untied model without lm_head.weight fails the layout check.
        let format = Format::Safetensors { shards: kept.len() };
        ModelFile::assemble(name, config, format, None, Some(json), kept, entries)
    }
}
