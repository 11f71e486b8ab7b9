//! Writers for tests, here and in the crates above: GGUF files with any metadata and tensor
//! types, safetensors files, config.json, and tiny random llama/qwen2 models in both formats.
//! Not used by the loaders themselves.

use crate::dtype::TensorType;
use crate::metadata::{Array, Value};
use crate::names::gguf_name;
use crate::{expected_tensors, Architecture, ModelConfig, Result, RopeScaling};
use candle_core::quantized::QTensor;
use candle_core::{Device, Tensor};

mod gguf_writer;
pub use gguf_writer::{GgufWriter, LazyTensor};

/// A tensor in Hugging Face naming and layout: (name, dims outermost first, values).
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Encodes f32 values (Hugging Face layout, last dim contiguous) as `ty`, quantizing with
/// candle for the block types.
pub fn encode(ty: TensorType, dims: &[usize], values: &[f32]) -> Result<Vec<u8>> {
    Ok(match ty {
        TensorType::F32 => values.iter().flat_map(|x| x.to_le_bytes()).collect(),
        TensorType::F16 => values.iter().flat_map(|&x| half::f16::from_f32(x).to_le_bytes()).collect(),
        TensorType::BF16 => values.iter().flat_map(|&x| half::bf16::from_f32(x).to_le_bytes()).collect(),
        _ => {
            let t = Tensor::from_slice(values, dims, &Device::Cpu)?;
            QTensor::quantize(&t, ty.to_candle())?.data()?.into_owned()
        }
    })
}

/// llama.cpp's `permute` (convert_hf_to_gguf.py), applied to rows: within each head of `d`
/// rows, the rows are viewed as [2, d/2] and transposed to [d/2, 2]. Written here from the
/// converter's reshape/swapaxes, independently of the loader's inverse.
pub fn llama_cpp_permute(values: &[f32], rows: usize, n_head: usize) -> Vec<f32> {
    let cols = values.len() / rows;
    let d = rows / n_head;
    let mut out = vec![0.0; values.len()];
    for h in 0..n_head {
        for i in 0..2 {
            for j in 0..d / 2 {
                let src = h * d + i * (d / 2) + j; // [h, i, j] in the [n_head, 2, d/2] view
                let dst = h * d + j * 2 + i; // [h, j, i] after swapaxes(1, 2)
                out[dst * cols..(dst + 1) * cols].copy_from_slice(&values[src * cols..(src + 1) * cols]);
            }
        }
    }
    out
}

/// A small valid configuration whose matrix widths (256, 512) are multiples of every block size,
/// so its tensors can be stored in any supported type.
pub fn tiny_config(arch: Architecture) -> ModelConfig {
    ModelConfig {
        arch,
        vocab_size: 32,
        hidden_size: 256,
        intermediate_size: 512,
        num_layers: 2,
        num_heads: 4,
        num_kv_heads: 2,
        head_dim: 64,
        rope_theta: 10_000.0,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 128,
        tie_word_embeddings: true,
        rope_scaling: None,
        sliding_window: None,
    }
}

/// SmolLM2-135M-Instruct's shapes (the default model), for tests that check sizes and work
/// counts against its published figures without loading it.
pub fn smollm2_135m_config() -> ModelConfig {
    ModelConfig {
        vocab_size: 49152,
        hidden_size: 576,
        intermediate_size: 1536,
        num_layers: 30,
        num_heads: 9,
        num_kv_heads: 3,
        head_dim: 64,
        rope_theta: 100_000.0,
        max_position_embeddings: 8192,
        ..tiny_config(Architecture::Llama)
    }
}

/// An even smaller configuration (a few kB as F32) for exhaustive byte-level tests; widths are
/// multiples of 32, so only the 32-element block types fit.
pub fn micro_config(arch: Architecture) -> ModelConfig {
    ModelConfig {
        vocab_size: 8,
        hidden_size: 32,
        intermediate_size: 64,
        num_layers: 1,
        num_heads: 2,
        num_kv_heads: 1,
        head_dim: 16,
        ..tiny_config(arch)
    }
}

/// The next value of a SplitMix64 stream (this crate depends on no labelcast crate, so it
/// does not use labelcast-core's `Rng`).
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A value in [-0.5, 0.5) from the top 24 bits of `x`.
pub(crate) fn unit(x: u64) -> f32 {
    (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
}

/// Deterministic pseudo-random weights (SplitMix64) for every tensor the config needs; norms
/// near 1, everything else in [-0.5, 0.5).
pub fn random_weights(c: &ModelConfig, seed: u64) -> Vec<NamedTensor> {
    let mut state = seed;
    let mut next = move || unit(splitmix64(&mut state));
    expected_tensors(c)
        .into_iter()
        .map(|(name, dims)| {
            let n: usize = dims.iter().product();
            let norm = name.ends_with("norm.weight");
            let values = (0..n).map(|_| if norm { 1.0 + next() * 0.2 } else { next() }).collect();
            (name, dims, values)
        })
        .collect()
}

/// The metadata llama.cpp's converter writes for `c` (`general.architecture`, `general.name`,
/// the `{arch}.*` hyperparameters); returns the architecture's GGUF name.
pub fn write_config(w: &mut GgufWriter, c: &ModelConfig, name: &str) -> &'static str {
    let arch = match c.arch {
        Architecture::Llama => "llama",
        Architecture::Qwen2 => "qwen2",
    };
    let u32v = |x: usize| Value::U32(x as u32);
    w.kv("general.architecture", Value::String(arch.into()));
    w.kv("general.name", Value::String(name.into()));
    w.kv(&format!("{arch}.context_length"), u32v(c.max_position_embeddings));
    w.kv(&format!("{arch}.embedding_length"), u32v(c.hidden_size));
    w.kv(&format!("{arch}.block_count"), u32v(c.num_layers));
    w.kv(&format!("{arch}.feed_forward_length"), u32v(c.intermediate_size));
    w.kv(&format!("{arch}.attention.head_count"), u32v(c.num_heads));
    w.kv(&format!("{arch}.attention.head_count_kv"), u32v(c.num_kv_heads));
    w.kv(&format!("{arch}.rope.freq_base"), Value::F32(c.rope_theta as f32));
    w.kv(&format!("{arch}.attention.layer_norm_rms_epsilon"), Value::F32(c.rms_norm_eps as f32));
    if c.head_dim * c.num_heads != c.hidden_size {
        w.kv(&format!("{arch}.attention.key_length"), u32v(c.head_dim));
        w.kv(&format!("{arch}.attention.value_length"), u32v(c.head_dim));
    }
    if let Some(window) = c.sliding_window {
        w.kv(&format!("{arch}.attention.sliding_window"), u32v(window));
    }
    arch
}

/// A GGUF file of the model as llama.cpp's converter would write it: llama-architecture q/k
/// rows permuted, `type_of(hf_name)` choosing each tensor's type.
pub fn write_gguf(c: &ModelConfig, weights: &[NamedTensor], type_of: impl Fn(&str) -> TensorType) -> Result<Vec<u8>> {
    let mut w = GgufWriter::new();
    let arch = write_config(&mut w, c, "tiny test model");
    let mut rope_freqs = None;
    match &c.rope_scaling {
        None => {}
        Some(RopeScaling::Linear { factor }) => {
            w.kv(&format!("{arch}.rope.scaling.type"), Value::String("linear".into()));
            w.kv(&format!("{arch}.rope.scaling.factor"), Value::F32(*factor as f32));
        }
        Some(RopeScaling::Divisors { divisors }) => rope_freqs = Some(divisors.iter().map(|&d| d as f32).collect()),
        Some(s @ RopeScaling::Llama3 { .. }) => rope_freqs = Some(llama3_rope_factors(c, s)),
    }
    if let Some(f) = rope_freqs {
        let f: Vec<f32> = f;
        w.tensor("rope_freqs.weight", TensorType::F32, &[f.len()], &f)?;
    }
    let tokens: Vec<String> = (0..c.vocab_size).map(|i| format!("tok{i}")).collect();
    w.kv("tokenizer.ggml.model", Value::String("gpt2".into()));
    w.kv("tokenizer.ggml.tokens", Value::Array(Array::String(tokens)));
    w.kv("tokenizer.ggml.token_type", Value::Array(Array::I32(vec![1; c.vocab_size])));
    for (name, dims, values) in weights {
        // As convert_hf_to_gguf.py's LlamaModel: q over n_head, k over n_head_kv (spelled out
        // here rather than shared with the loader, so tests compare two implementations).
        let llama = c.arch == Architecture::Llama;
        let heads = if llama && (name.ends_with("q_proj.weight") || name.ends_with("q_proj.bias")) {
            Some(c.num_heads)
        } else if llama && (name.ends_with("k_proj.weight") || name.ends_with("k_proj.bias")) {
            Some(c.num_kv_heads)
        } else {
            None
        };
        let values = match heads {
            Some(h) => llama_cpp_permute(values, dims[0], h),
            None => values.clone(),
        };
        let gguf = gguf_name(name).unwrap_or_else(|| name.clone());
        w.tensor(&gguf, type_of(name), dims, &values)?;
    }
    Ok(w.to_bytes())
}

/// The `rope_freqs.weight` values convert_hf_to_gguf.py (LlamaModel.generate_extra_tensors)
/// writes for a "llama3" rope scaling, in f32 as it computes them: 1 for short wavelengths,
/// `factor` for long ones, `1 / ((1 - smooth) / factor + smooth)` in between. Written from the
/// converter, independently of the loader's [`RopeScaling::apply`].
pub fn llama3_rope_factors(c: &ModelConfig, s: &RopeScaling) -> Vec<f32> {
    let RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings } = *s else {
        panic!("not a llama3 scaling: {s:?}")
    };
    let old = original_max_position_embeddings as f32;
    let (low_wavelen, high_wavelen) = (old / low_freq_factor as f32, old / high_freq_factor as f32);
    (0..c.head_dim / 2)
        .map(|i| {
            let freq = 1.0 / (c.rope_theta as f32).powf((2 * i) as f32 / c.head_dim as f32);
            let wavelen = 2.0 * std::f32::consts::PI / freq;
            if wavelen < high_wavelen {
                1.0
            } else if wavelen > low_wavelen {
                factor as f32
            } else {
                let smooth = (old / wavelen - low_freq_factor as f32) / (high_freq_factor - low_freq_factor) as f32;
                1.0 / ((1.0 - smooth) / factor as f32 + smooth)
            }
        })
        .collect()
}

/// A safetensors file holding `weights` as `ty` (F32, F16 or BF16).
pub fn write_safetensors(weights: &[NamedTensor], ty: TensorType) -> Result<Vec<u8>> {
    let mut header = serde_json::Map::new();
    let mut data = Vec::new();
    for (name, dims, values) in weights {
        let bytes = encode(ty, dims, values)?;
        let entry = serde_json::json!({
            "dtype": ty.name(),
            "shape": dims,
            "data_offsets": [data.len(), data.len() + bytes.len()],
        });
        header.insert(name.clone(), entry);
        data.extend(bytes);
    }
    let mut header = serde_json::Value::Object(header).to_string().into_bytes();
    header.resize(header.len().next_multiple_of(8), b' ');
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend(header);
    out.extend(data);
    Ok(out)
}

/// A transformers-style config.json for `c`.
pub fn config_json(c: &ModelConfig) -> String {
    let model_type = match (c.arch, c.sliding_window) {
        // Only Mistral's config applies `sliding_window` to every layer.
        (Architecture::Llama, Some(_)) => "mistral",
        (Architecture::Llama, None) => "llama",
        (Architecture::Qwen2, _) => "qwen2",
    };
    let rope_scaling = match &c.rope_scaling {
        None => serde_json::Value::Null,
        Some(RopeScaling::Linear { factor }) => serde_json::json!({"rope_type": "linear", "factor": factor}),
        Some(RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings }) => {
            serde_json::json!({"rope_type": "llama3", "factor": factor, "low_freq_factor": low_freq_factor,
                "high_freq_factor": high_freq_factor,
                "original_max_position_embeddings": original_max_position_embeddings})
        }
        Some(RopeScaling::Divisors { .. }) => panic!("per-frequency divisors exist only in GGUF files"),
    };
    serde_json::json!({
        "model_type": model_type,
        "hidden_size": c.hidden_size,
        "intermediate_size": c.intermediate_size,
        "num_hidden_layers": c.num_layers,
        "num_attention_heads": c.num_heads,
        "num_key_value_heads": c.num_kv_heads,
        "head_dim": c.head_dim,
        "rope_theta": c.rope_theta,
        "rms_norm_eps": c.rms_norm_eps,
        "max_position_embeddings": c.max_position_embeddings,
        "vocab_size": c.vocab_size,
        "tie_word_embeddings": c.tie_word_embeddings,
        "rope_scaling": rope_scaling,
        "sliding_window": c.sliding_window,
        "use_sliding_window": c.sliding_window.is_some(),
        "max_window_layers": 0,
    })
    .to_string()
}
