//! safetensors shards + config.json -> ModelFile. Tensors already carry Hugging Face names and
//! [out, in] shapes; nothing is permuted.

use crate::dtype::TensorType;
use crate::model::{Entry, Format};
use crate::{Architecture, ModelConfig, ModelFile, ModelFileError, Result, SharedBytes};
use safetensors::{Dtype, SafeTensorError, SafeTensors};
use serde::Deserialize;

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
    rope_scaling: Option<serde_json::Value>,
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
    if let Some(s) = c.rope_scaling.as_ref().filter(|s| !s.is_null()) {
        let kind = s.get("rope_type").or_else(|| s.get("type")).and_then(|t| t.as_str());
        if kind != Some("default") {
            return Err(ModelFileError::Config(format!("{file}: rope_scaling {s} is not supported")));
        }
    }
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
    };
    Ok((config, value))
}

fn st_error(file: &str, e: SafeTensorError) -> ModelFileError {
    match e {
        SafeTensorError::HeaderTooSmall
        | SafeTensorError::InvalidHeaderLength
        | SafeTensorError::MetadataIncompleteBuffer => ModelFileError::truncated(file, format!("safetensors: {e}")),
        e => ModelFileError::corrupt(file, format!("safetensors: {e}")),
    }
}

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
        let (config, json) = config_from_json(&format!("{name}/config.json"), config_json)?;
        let mut entries = Vec::new();
        let mut kept = Vec::new();
        for (shard, (file, bytes)) in shards.into_iter().enumerate() {
            let (file, bytes): (String, SharedBytes) = (file.into(), bytes.into());
            let (header_len, meta) = SafeTensors::read_metadata(&bytes).map_err(|e| st_error(&file, e))?;
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
                // read_metadata checked that the offsets tile the data section exactly.
                let range = data_start + info.data_offsets.0..data_start + info.data_offsets.1;
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
