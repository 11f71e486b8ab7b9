//! `ModelFile`: one model, whatever its file format, as Hugging Face-named tensors.
//!
//! Memory: the file bytes are held once ([`SharedBytes`], no copy of the file is made), or read
//! range by range from a [`crate::ByteSource`]; tensors are byte ranges into them. [`ModelFile::tensor_f32`] allocates a fresh f32 tensor
//! (4 bytes per element) on every call and caches nothing, so the caller decides what stays
//! resident. [`ModelFile::raw`] borrows the file bytes, except for the q/k projections of a
//! llama-architecture GGUF, whose rows are reordered into a new buffer (see [`crate::names`]).
//! GGUF metadata is decoded into owned values (the tokenizer vocabulary: a few MB).

use crate::dtype::{to_f32_tensor, TensorType};
use crate::metadata::Metadata;
use crate::names::{can_unpermute, unpermute_rows, unpermute_tensor};
use crate::{FileBytes, ModelConfig, ModelFileError, Result};
use candle_core::Tensor;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Gguf { version: u32 },
    Safetensors { shards: usize },
}

/// One tensor as it lies in the file, in Hugging Face naming and dimension order.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub shard: usize,
    /// The stored type, or the name of a type this crate cannot compute with.
    pub dtype: std::result::Result<TensorType, String>,
    /// Outermost first ([out, in] for projections).
    pub dims: Vec<usize>,
    /// Absolute byte range in the shard.
    pub range: Range<u64>,
    /// Rows to un-permute over this many heads on access (llama-architecture GGUF q/k).
    pub unpermute: Option<usize>,
    /// The tensor's name in the file.
    pub source_name: String,
}

/// Bytes of one tensor exactly as stored (quantized blocks included), for backends that upload
/// them as they are. Rows of q/k projections from a llama GGUF are already un-permuted.
#[derive(Debug, Clone)]
pub struct RawTensor<'a> {
    /// Hugging Face name (or the file's name for tensors outside the mapped layout).
    pub name: &'a str,
    /// The name in the file (GGUF name for GGUF files).
    pub source_name: &'a str,
    pub ggml_type: TensorType,
    /// Outermost first, i.e. reversed from GGUF's innermost-first order. Each row of the last
    /// dimension is `ggml_type.row_bytes(dims.last())` bytes.
    pub dims: &'a [usize],
    /// Borrowed from the file, or owned when rows were reordered or read from a source.
    pub bytes: Cow<'a, [u8]>,
    /// Where `bytes` lie in the file (shard index, byte range) when stored unchanged.
    pub file_range: Option<(usize, Range<u64>)>,
}

#[derive(Clone)]
pub struct ModelFile {
    /// The name given at load time (used in error messages).
    pub name: String,
    pub config: ModelConfig,
    format: Format,
    gguf: Option<Metadata>,
    config_json: Option<serde_json::Value>,
    shards: Vec<FileBytes>,
    entries: Vec<(String, Entry)>,
    index: HashMap<String, usize>,
}

impl ModelFile {
    pub(crate) fn assemble(
        name: &str,
        config: ModelConfig,
        format: Format,
        gguf: Option<Metadata>,
        config_json: Option<serde_json::Value>,
        shards: Vec<FileBytes>,
        entries: Vec<(String, Entry)>,
    ) -> Result<Self> {
        let mut index = HashMap::with_capacity(entries.len());
        for (i, (n, e)) in entries.iter().enumerate() {
            if index.insert(n.clone(), i).is_some() {
                return Err(ModelFileError::corrupt(name, format!("tensor {n} appears twice (as {})", e.source_name)));
            }
        }
        let m = Self { name: name.to_string(), config, format, gguf, config_json, shards, entries, index };
        m.check_layout()?;
        Ok(m)
    }

    pub fn format(&self) -> Format {
        self.format
    }

    /// Tensor names in file order: Hugging Face names, and the file's own names for tensors
    /// outside the llama/qwen2 layout.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(n, _)| n.as_str())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// Dimensions (outermost first) of a tensor.
    pub fn dims(&self, name: &str) -> Option<&[usize]> {
        self.entry(name).ok().map(|e| e.dims.as_slice())
    }

    /// The stored type (UnsupportedTensorType for types outside [`TensorType`]).
    pub fn tensor_type(&self, name: &str) -> Result<TensorType> {
        let e = self.entry(name)?;
        e.dtype.clone().map_err(|t| unsupported(name, &t))
    }

    /// GGUF key/values (tokenizer vocabulary, merges, chat template ...); None for safetensors.
    pub fn gguf_metadata(&self) -> Option<&Metadata> {
        self.gguf.as_ref()
    }

    /// The parsed config.json; None for GGUF.
    pub fn config_json(&self) -> Option<&serde_json::Value> {
        self.config_json.as_ref()
    }

    /// The file bytes (one per safetensors shard), e.g. to upload [`RawTensor::file_range`]s.
    pub fn file_bytes(&self) -> &[FileBytes] {
        &self.shards
    }

    /// Whether every file is held in memory (none is read on demand from a source).
    pub fn in_memory(&self) -> bool {
        self.shards.iter().all(|s| s.in_memory().is_some())
    }

    /// The bytes the file's tensors take as stored (the weights, quantized blocks included).
    pub fn stored_bytes(&self) -> u64 {
        self.entries.iter().map(|(_, e)| e.range.end - e.range.start).sum()
    }

    fn stored(&self, e: &Entry) -> Result<Cow<'_, [u8]>> {
        self.shards[e.shard].read(&self.name, e.range.clone())
    }

    fn entry(&self, name: &str) -> Result<&Entry> {
        match self.index.get(name) {
            Some(&i) => Ok(&self.entries[i].1),
            None => Err(ModelFileError::MissingTensor(name.to_string())),
        }
    }

    /// The tensor as f32 on the CPU, dequantized, in Hugging Face layout. Allocates each call.
    pub fn tensor_f32(&self, name: &str) -> Result<Tensor> {
        let e = self.entry(name)?;
        let ty = e.dtype.clone().map_err(|t| unsupported(name, &t))?;
        let bytes = self.stored(e)?;
        let t = to_f32_tensor(name, ty, &e.dims, &bytes)?;
        match e.unpermute {
            Some(n_head) => unpermute_tensor(&t, n_head),
            None => Ok(t),
        }
    }

    /// The stored bytes of a tensor.
    pub fn raw(&self, name: &str) -> Result<RawTensor<'_>> {
        let (key, e) =
            &self.entries[*self.index.get(name).ok_or_else(|| ModelFileError::MissingTensor(name.to_string()))?];
        let ty = e.dtype.clone().map_err(|t| unsupported(name, &t))?;
        let stored = self.stored(e)?;
        let (bytes, file_range) = match e.unpermute {
            Some(n_head) => {
                let row = ty.row_bytes(e.dims.last().copied().unwrap_or(1));
                (Cow::Owned(unpermute_rows(&stored, row, n_head)), None)
            }
            None => (stored, Some((e.shard, e.range.clone()))),
        };
        Ok(RawTensor { name: key, source_name: &e.source_name, ggml_type: ty, dims: &e.dims, bytes, file_range })
    }

    /// The stored bytes of rows `rows` of a tensor (rows: every dimension but the last), as
    /// [`ModelFile::raw`] would hold them: a backend that uploads a large matrix in pieces
    /// reads one piece at a time. Un-permuted q/k projections are read whole (they are small).
    pub fn raw_rows(&self, name: &str, rows: Range<usize>) -> Result<Cow<'_, [u8]>> {
        let e = self.entry(name)?;
        let ty = e.dtype.clone().map_err(|t| unsupported(name, &t))?;
        let (n_rows, cols) = match e.dims.split_last() {
            Some((&cols, outer)) => (outer.iter().product::<usize>(), cols),
            None => (1, 1),
        };
        if rows.start > rows.end || rows.end > n_rows {
            return Err(ModelFileError::Config(format!("tensor {name}: rows {rows:?} of {n_rows}")));
        }
        let row = ty.row_bytes(cols) as u64;
        if e.unpermute.is_some() {
            let whole = self.raw(name)?.bytes.into_owned();
            return Ok(Cow::Owned(whole[rows.start * row as usize..rows.end * row as usize].to_vec()));
        }
        let start = e.range.start + rows.start as u64 * row;
        self.shards[e.shard].read(&self.name, start..start + (rows.end - rows.start) as u64 * row)
    }

    /// Every tensor the math needs exists with its shape and a supported type.
    fn check_layout(&self) -> Result<()> {
        let c = &self.config;
        c.validate()?;
        let check = |name: &str, shape: &[usize]| -> Result<()> {
            let e = self.entry(name)?;
            if e.dims != shape {
                return Err(ModelFileError::ShapeMismatch {
                    name: name.to_string(),
                    expected: shape.to_vec(),
                    found: e.dims.clone(),
                });
            }
            e.dtype.clone().map(|_| ()).map_err(|t| unsupported(name, &t))?;
            if let Some(n_head) = e.unpermute {
                if !can_unpermute(shape[0], n_head) {
                    return Err(ModelFileError::Config(format!(
                        "tensor {name}: {} rows cannot be split over {n_head} heads",
                        shape[0]
                    )));
                }
            }
            Ok(())
        };
        for (name, shape) in global_tensors(c) {
            check(&name, &shape)?;
        }
        // Layer by layer, so a hostile layer count fails at the first missing layer rather than
        // after listing billions of names.
        for layer in 0..c.num_layers {
            for (name, shape) in layer_tensors(c, layer) {
                check(&name, &shape)?;
            }
        }
        Ok(())
    }
}

impl std::fmt::Debug for ModelFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFile")
            .field("name", &self.name)
            .field("format", &self.format)
            .field("config", &self.config)
            .field("tensors", &self.entries.len())
            .finish_non_exhaustive()
    }
}

fn unsupported(name: &str, dtype: &str) -> ModelFileError {
    ModelFileError::UnsupportedTensorType { name: name.to_string(), dtype: dtype.to_string() }
}

fn global_tensors(c: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let mut v = vec![
        ("model.embed_tokens.weight".to_string(), vec![c.vocab_size, c.hidden_size]),
        ("model.norm.weight".to_string(), vec![c.hidden_size]),
    ];
    if !c.tie_word_embeddings {
        v.push(("lm_head.weight".to_string(), vec![c.vocab_size, c.hidden_size]));
    }
    v
}

fn layer_tensors(c: &ModelConfig, i: usize) -> Vec<(String, Vec<usize>)> {
    let (h, q, kv, ff) = (c.hidden_size, c.q_dim(), c.kv_dim(), c.intermediate_size);
    let p = |s: &str| format!("model.layers.{i}.{s}");
    let mut v = vec![
        (p("input_layernorm.weight"), vec![h]),
        (p("self_attn.q_proj.weight"), vec![q, h]),
        (p("self_attn.k_proj.weight"), vec![kv, h]),
        (p("self_attn.v_proj.weight"), vec![kv, h]),
        (p("self_attn.o_proj.weight"), vec![h, q]),
        (p("post_attention_layernorm.weight"), vec![h]),
        (p("mlp.gate_proj.weight"), vec![ff, h]),
        (p("mlp.up_proj.weight"), vec![ff, h]),
        (p("mlp.down_proj.weight"), vec![h, ff]),
    ];
    if c.qkv_bias() {
        v.push((p("self_attn.q_proj.bias"), vec![q]));
        v.push((p("self_attn.k_proj.bias"), vec![kv]));
        v.push((p("self_attn.v_proj.bias"), vec![kv]));
    }
    v
}

/// Every tensor (Hugging Face name, shape) the math reads for this configuration.
/// Call on a validated config.
pub fn expected_tensors(c: &ModelConfig) -> Vec<(String, Vec<usize>)> {
    let mut v = global_tensors(c);
    for i in 0..c.num_layers {
        v.extend(layer_tensors(c, i));
    }
    v
}
