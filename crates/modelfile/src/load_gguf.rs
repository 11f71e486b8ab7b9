//! GGUF -> ModelFile: hyper-parameters from the `{arch}.*` metadata, tensors renamed to
//! Hugging Face names with dimensions reversed to [out, in].

use crate::dtype::{ggml_type_name, to_f32_tensor, TensorType};
use crate::gguf::GgufFile;
use crate::metadata::Metadata;
use crate::model::{Entry, Format};
use crate::names::{can_unpermute, hf_name, permuted_heads};
use crate::{
    Architecture, ByteSource, FileBytes, ModelConfig, ModelFile, ModelFileError, Result, RopeScaling, SharedBytes,
};
use std::sync::Arc;

/// The first read of a streamed GGUF: real headers (Llama 3's 128k-token vocabulary and merges)
/// take ~10 MB.
const FIRST_HEADER_READ: u64 = 16 << 20;
/// The metadata may take 256 MiB once parsed (gguf::MAX_METADATA_BYTES), which its encoding
/// cannot exceed by much; a header claiming more is refused rather than read.
const MAX_HEADER_READ: u64 = 1 << 30;

impl ModelFile {
    /// Loads a GGUF file (v2 or v3). `name` identifies it in error messages. The bytes are kept,
    /// not copied; see the module docs of [`crate::model`] for what each accessor allocates.
    pub fn from_gguf(name: &str, bytes: impl Into<SharedBytes>) -> Result<Self> {
        let bytes: SharedBytes = bytes.into();
        let gguf = GgufFile::parse(name, &bytes)?;
        Self::from_gguf_parts(name, gguf, FileBytes::Memory(bytes))
    }

    /// Loads a GGUF file read range by range: its header from the first bytes (more while it
    /// runs on), each tensor only when asked for. Nothing of the tensor data is held.
    pub fn from_gguf_source(name: &str, source: Arc<dyn ByteSource>) -> Result<Self> {
        let bytes = FileBytes::Streamed(source);
        let len = bytes.len();
        let mut want = FIRST_HEADER_READ.min(len);
        let gguf = loop {
            let prefix = bytes.read(name, 0..want)?;
            match GgufFile::parse_prefix(name, &prefix, len) {
                Err(ModelFileError::HeaderPastPrefix { .. }) if want < len.min(MAX_HEADER_READ) => {
                    want = (want * 4).min(len).min(MAX_HEADER_READ);
                }
                Err(ModelFileError::HeaderPastPrefix { .. }) => {
                    return Err(ModelFileError::corrupt(
                        name,
                        format!("its header runs past {} MiB; real GGUF headers take a few MB", want >> 20),
                    ))
                }
                r => break r?,
            }
        };
        Self::from_gguf_parts(name, gguf, bytes)
    }

    fn from_gguf_parts(name: &str, gguf: GgufFile, bytes: FileBytes) -> Result<Self> {
        let metadata = gguf.metadata;
        let arch = architecture(&metadata)?;

        let mut entries = Vec::with_capacity(gguf.tensors.len());
        for t in gguf.tensors {
            // GGUF lists dimensions innermost first; Hugging Face outermost first. The parser
            // checked that the element count fits in i64, so each dimension fits in usize on
            // 64-bit targets; on wasm32 a dimension beyond usize cannot lie within the file.
            let dims = t.dims.iter().rev().map(|&d| usize::try_from(d)).collect::<std::result::Result<Vec<_>, _>>();
            let dims = dims.map_err(|_| {
                ModelFileError::corrupt(name, format!("tensor {}: dimensions {:?} too large", t.name, t.dims))
            })?;
            let dtype = TensorType::from_ggml_id(t.ggml_type).ok_or_else(|| ggml_type_name(t.ggml_type));
            let hf = hf_name(&t.name).unwrap_or_else(|| t.name.clone());
            entries.push((hf, Entry { shard: 0, dtype, dims, range: t.data, unpermute: None, source_name: t.name }));
        }

        let divisors = rope_freqs(name, &bytes, &entries)?;
        let config = config_from_metadata(&metadata, arch, &entries, divisors)?;
        if arch == Architecture::Llama {
            for (n, e) in &mut entries {
                e.unpermute = permuted_heads(n, config.num_heads, config.num_kv_heads);
                // Checked for every permuted tensor, not only the ones the math needs (a llama
                // file may carry q/k biases), so that access can never split rows unevenly.
                if let Some(h) = e.unpermute {
                    if !can_unpermute(e.dims.first().copied().unwrap_or(0), h) {
                        return Err(ModelFileError::Config(format!(
                            "{name}: tensor {n} with dimensions {:?} cannot be split into {h} rotary heads",
                            e.dims
                        )));
                    }
                }
            }
        }
        let format = Format::Gguf { version: gguf.version };
        ModelFile::assemble(name, config, format, Some(metadata), None, vec![bytes], entries)
    }
}

fn architecture(md: &Metadata) -> Result<Architecture> {
    match md.get_str("general.architecture")? {
        "llama" => Ok(Architecture::Llama),
        "qwen2" => Ok(Architecture::Qwen2),
        other => Err(ModelFileError::UnsupportedArchitecture(other.to_string())),
    }
}

/// llama.cpp's `rope_freqs.weight` (Llama 3.1+ GGUF): one divisor per rotary frequency, the
/// file's encoding of "llama3" rope scaling. None when the file has no such tensor.
fn rope_freqs(file: &str, bytes: &FileBytes, entries: &[(String, Entry)]) -> Result<Option<Vec<f64>>> {
    let Some((n, e)) = entries.iter().find(|(n, _)| n == "rope_freqs.weight") else { return Ok(None) };
    let ty = e.dtype.clone().map_err(|t| ModelFileError::UnsupportedTensorType { name: n.clone(), dtype: t })?;
    if e.dims.len() != 1 {
        return Err(ModelFileError::corrupt(file, format!("{n}: expected one dimension, found {:?}", e.dims)));
    }
    let t = to_f32_tensor(n, ty, &e.dims, &bytes.read(file, e.range.clone())?)?;
    Ok(Some(t.to_vec1::<f32>()?.into_iter().map(f64::from).collect()))
}

fn config_from_metadata(
    md: &Metadata,
    arch: Architecture,
    entries: &[(String, Entry)],
    rope_divisors: Option<Vec<f64>>,
) -> Result<ModelConfig> {
    let prefix = md.get_str("general.architecture")?;
    let key = |k: &str| format!("{prefix}.{k}");
    let file = md.file();
    let bad = |why: String| ModelFileError::Config(format!("{file}: {why}"));

    let hidden_size = md.get_usize(&key("embedding_length"))?;
    let num_heads = md.get_usize(&key("attention.head_count"))?;
    let num_kv_heads = md.opt_usize(&key("attention.head_count_kv"))?.unwrap_or(num_heads);
    let head_dim = match md.opt_usize(&key("attention.key_length"))? {
        Some(d) => d,
        None => hidden_size.checked_div(num_heads).ok_or_else(|| bad("attention.head_count is 0".into()))?,
    };
    if let Some(v) = md.opt_usize(&key("attention.value_length"))? {
        if v != head_dim {
            return Err(bad(format!("value length {v} differs from key length {head_dim}")));
        }
    }
    if let Some(r) = md.opt_usize(&key("rope.dimension_count"))? {
        if r != head_dim {
            return Err(bad(format!("partial rotary embeddings ({r} of {head_dim} dimensions) are not supported")));
        }
    }
    // llama.cpp applies a linear factor and the per-frequency divisors together (its frequency
    // scale times rope_freqs), so both fold into one set of divisors.
    let linear = match md.opt_str(&key("rope.scaling.type"))? {
        None | Some("none") => None,
        Some(kind) => match md.opt_f64(&key("rope.scaling.factor"))? {
            // A factor of 1 changes nothing, whatever the type.
            Some(1.0) => None,
            Some(f) if kind == "linear" => Some(f),
            None if kind == "linear" => return Err(bad("rope scaling \"linear\" without rope.scaling.factor".into())),
            factor => {
                return Err(bad(format!(
                    "rope scaling \"{kind}\" (factor {factor:?}) is not supported (supported: none, linear, \
                     and Llama 3.1's rope_freqs.weight)"
                )))
            }
        },
    };
    let rope_scaling = match (rope_divisors, linear) {
        (Some(d), f) => Some(RopeScaling::Divisors { divisors: d.iter().map(|x| x * f.unwrap_or(1.0)).collect() }),
        (None, Some(factor)) => Some(RopeScaling::Linear { factor }),
        (None, None) => None,
    };
    let sliding_window = md.opt_usize(&key("attention.sliding_window"))?.filter(|&w| w > 0);

    let embed = entries.iter().find(|(n, _)| n == "model.embed_tokens.weight");
    let Some((_, embed)) = embed else {
        return Err(ModelFileError::MissingTensor("model.embed_tokens.weight (token_embd.weight)".into()));
    };
    let vocab_size = embed.dims.first().copied().unwrap_or(0);
    let tie_word_embeddings = !entries.iter().any(|(n, _)| n == "lm_head.weight");

    Ok(ModelConfig {
        arch,
        vocab_size,
        hidden_size,
        intermediate_size: md.get_usize(&key("feed_forward_length"))?,
        num_layers: md.get_usize(&key("block_count"))?,
        num_heads,
        num_kv_heads,
        head_dim,
        rope_theta: md.opt_f64(&key("rope.freq_base"))?.unwrap_or(10_000.0),
        rms_norm_eps: md.get_f64(&key("attention.layer_norm_rms_epsilon"))?,
        max_position_embeddings: md.get_usize(&key("context_length"))?,
        tie_word_embeddings,
        rope_scaling,
        sliding_window,
    })
}
