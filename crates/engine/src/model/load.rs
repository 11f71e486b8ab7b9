//! From a loaded model file (labelcast-modelfile) to the engine's weights and text side.

use std::collections::HashMap;

use labelcast_modelfile::metadata::{Array, Value};
use labelcast_modelfile::{Metadata, ModelFile};
use labelcast_text::{HfText, MetaValue, ModelText, TokenizerData};

use super::weights::{expected_tensors, Weights};
use crate::error::{EngineError, Result};

impl Weights {
    /// Dequantizes every tensor the math reads to f32 (one at a time, so peak memory is the
    /// file plus the f32 weights).
    pub fn from_model_file(file: &ModelFile) -> Result<Self> {
        let mut map = HashMap::new();
        for (name, _) in expected_tensors(&file.config) {
            let t = file.tensor_f32(&name)?;
            map.insert(name, t);
        }
        Weights::from_tensors(file.config.clone(), map)
    }
}

/// A GGUF file's bytes as a model file and its text side (tokenizer, chat template from the
/// metadata): what every backend's GGUF constructor starts from.
pub fn parse_gguf(name: &str, bytes: Vec<u8>) -> Result<(ModelFile, ModelText)> {
    let file = ModelFile::from_gguf(name, bytes)?;
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
