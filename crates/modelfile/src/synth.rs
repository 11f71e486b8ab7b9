//! Synthetic models of real size: the published configurations of the paper's three models (and
//! SmolLM2's), random quantized weights written block by block straight into a GGUF file, and
//! the tokenizer and chat template of a real GGUF copied into its metadata. The weights mean
//! nothing; the file has the sizes, shapes, tensor types and layout of the real one, so loading,
//! memory and timings can be measured without the real weights (no model hub is reachable from
//! the machines this project is built on).

use std::io::Write;

use crate::metadata::{Array, Value};
use crate::testing::{splitmix64, unit, write_config, GgufWriter, LazyTensor};
use crate::{expected_tensors, Architecture, ModelConfig, RopeScaling, TensorType};

/// A published model's shapes, by the name its family goes by in `labelcast families`.
pub fn config(family: &str) -> Option<ModelConfig> {
    let base = ModelConfig {
        arch: Architecture::Llama,
        vocab_size: 0,
        hidden_size: 4096,
        intermediate_size: 14336,
        num_layers: 32,
        num_heads: 32,
        num_kv_heads: 8,
        head_dim: 128,
        rope_theta: 1e6,
        rms_norm_eps: 1e-5,
        max_position_embeddings: 32768,
        tie_word_embeddings: false,
        rope_scaling: None,
        sliding_window: None,
    };
    Some(match family {
        // meta-llama/Llama-3.1-8B-Instruct config.json.
        "llama-3.1-8b-instruct" => ModelConfig {
            vocab_size: 128256,
            rope_theta: 500_000.0,
            max_position_embeddings: 131072,
            rope_scaling: Some(RopeScaling::Llama3 {
                factor: 8.0,
                low_freq_factor: 1.0,
                high_freq_factor: 4.0,
                original_max_position_embeddings: 8192,
            }),
            ..base
        },
        // mistralai/Mistral-7B-Instruct-v0.3 config.json.
        "mistral-7b-instruct-v0.3" => ModelConfig { vocab_size: 32768, ..base },
        // Qwen/Qwen2.5-14B-Instruct config.json (q/k/v biases come with the architecture).
        "qwen2.5-14b-instruct" => ModelConfig {
            arch: Architecture::Qwen2,
            vocab_size: 152064,
            hidden_size: 5120,
            intermediate_size: 13824,
            num_layers: 48,
            num_heads: 40,
            num_kv_heads: 8,
            rms_norm_eps: 1e-6,
            ..base
        },
        "smollm2-135m-instruct" => crate::testing::smollm2_135m_config(),
        _ => return None,
    })
}

/// The families [`config`] knows.
pub const FAMILIES: [&str; 4] =
    ["llama-3.1-8b-instruct", "mistral-7b-instruct-v0.3", "qwen2.5-14b-instruct", "smollm2-135m-instruct"];

/// Random blocks of `ty` whose values have a standard deviation of about `std` (uniform codes
/// under one scale per block), from a SplitMix64 stream; F32 for vectors (norms near 1, biases
/// near 0).
fn fill(ty: TensorType, std: f32, norm: bool, state: &mut u64, out: &mut [u8]) {
    // Random codes: a block's code bytes filled from the stream, 8 at a time.
    let mut codes = |bytes: &mut [u8]| {
        for c in bytes.chunks_mut(8) {
            c.copy_from_slice(&splitmix64(state).to_le_bytes()[..c.len()]);
        }
    };
    let f16 = |x: f32| half::f16::from_f32(x).to_le_bytes();
    match ty {
        TensorType::F32 => {
            for c in out.chunks_exact_mut(4) {
                let u = unit(splitmix64(state));
                let v = if norm { 1.0 + 0.2 * u } else { 0.02 * u };
                c.copy_from_slice(&v.to_le_bytes());
            }
        }
        // 2 bytes of scale, then 16 bytes of 4-bit codes q: value = d·(q − 8); uniform codes
        // have a standard deviation of about 4.6.
        TensorType::Q4_0 => {
            for block in out.chunks_exact_mut(18) {
                block[..2].copy_from_slice(&f16(std / 4.6));
                codes(&mut block[2..]);
            }
        }
        // 2 bytes of scale, then 32 signed codes: value = d·q, uniform codes about 73.6.
        TensorType::Q8_0 => {
            for block in out.chunks_exact_mut(34) {
                block[..2].copy_from_slice(&f16(std / 73.6));
                codes(&mut block[2..]);
            }
        }
        // ggml's block_q4_K (256 values): d, dmin, 12 bytes of packed 6-bit scales and mins,
        // 128 bytes of 4-bit codes; value = d·sc·q − dmin·m per 32 values. Every sc and m is
        // 32 here (0xA0 puts 32 in the low six bits and the high bits that sub-blocks 4–7
        // borrow), and dmin = 7.5·d centres the codes: value = 32·d·(q − 7.5).
        TensorType::Q4K => {
            for block in out.chunks_exact_mut(144) {
                let d = std / (32.0 * 4.61);
                block[..2].copy_from_slice(&f16(d));
                block[2..4].copy_from_slice(&f16(7.5 * d));
                block[4..12].fill(0xA0);
                block[12..16].fill(0);
                codes(&mut block[16..]);
            }
        }
        // ggml's block_q6_K (256 values): 128 bytes of low and 64 of high code bits, 16 signed
        // scales, d; value = d·scale·(q − 32) with 6-bit codes (about 18.5 uniform).
        TensorType::Q6K => {
            for block in out.chunks_exact_mut(210) {
                codes(&mut block[..192]);
                block[192..208].fill(16);
                block[208..].copy_from_slice(&f16(std / (16.0 * 18.47)));
            }
        }
        other => unreachable!("synthetic weights are F32, Q4_0, Q8_0, Q4_K or Q6_K, not {other:?}"),
    }
}

/// How the synthetic model's matrices are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quant {
    /// Every matrix in this type (Q4_0 or Q8_0), the embedding and output layers in Q8_0.
    Uniform(TensorType),
    /// llama.cpp's Q4_K_M mix: Q4_K, with Q6_K for the output layer and for `v_proj` and
    /// `down_proj` in the layers llama.cpp gives more bits (the first and last eighth, and
    /// every third between).
    Q4KM,
}

impl Quant {
    fn type_of(self, c: &ModelConfig, name: &str) -> TensorType {
        let layer = name.strip_prefix("model.layers.").and_then(|r| r.split('.').next()).and_then(|l| l.parse().ok());
        let more_bits = |l: usize| {
            let n = c.num_layers;
            l < n / 8 || l >= 7 * n / 8 || (l - n / 8) % 3 == 2
        };
        let embedding_or_output = name.contains("embed_tokens") || name == "lm_head.weight";
        match self {
            Quant::Uniform(_) if embedding_or_output => TensorType::Q8_0,
            Quant::Uniform(ty) => ty,
            Quant::Q4KM if name == "lm_head.weight" => TensorType::Q6K,
            Quant::Q4KM
                if (name.ends_with("v_proj.weight") || name.ends_with("down_proj.weight"))
                    && layer.is_some_and(more_bits) =>
            {
                TensorType::Q6K
            }
            Quant::Q4KM => TensorType::Q4K,
        }
    }
}

/// The bytes a tensor of `dims` (outermost first) takes as `ty`.
fn byte_len(ty: TensorType, dims: &[usize]) -> usize {
    let n: usize = dims.iter().product();
    match ty {
        TensorType::F32 => 4 * n,
        _ => ty.row_bytes(n),
    }
}

/// Writes a synthetic GGUF of `c`: matrices as `quant` says, vectors as F32. The
/// `tokenizer.*` keys of `tokenizer_from` (a real GGUF's metadata) are copied; when its
/// vocabulary is smaller than the model's, it is padded with unused tokens (`<|synthetic_N|>`,
/// type UNUSED) so that every id the model can produce decodes. Returns the bytes written.
pub fn write(
    c: &ModelConfig,
    quant: Quant,
    tokenizer_from: &[(String, Value)],
    seed: u64,
    out: &mut impl Write,
    mut progress: impl FnMut(usize, usize),
) -> std::io::Result<u64> {
    let mut w = GgufWriter::new();
    write_config(&mut w, c, "synthetic model (random weights)");
    let vocab = tokenizer_from.iter().find_map(|(k, v)| match (k.as_str(), v) {
        ("tokenizer.ggml.tokens", Value::Array(a)) => Some(a.len()),
        _ => None,
    });
    match vocab {
        None => return Err(std::io::Error::other("the tokenizer's GGUF has no tokenizer.ggml.tokens")),
        Some(n) if n > c.vocab_size => {
            return Err(std::io::Error::other(format!(
                "the tokenizer has {n} tokens, more than the model's {} embedding rows: use a tokenizer of \
                 this family (or a smaller one)",
                c.vocab_size
            )))
        }
        Some(_) => {}
    }
    for (k, v) in tokenizer_from.iter().filter(|(k, _)| k.starts_with("tokenizer.")) {
        let padded = match (k.as_str(), v) {
            ("tokenizer.ggml.tokens", Value::Array(Array::String(t))) if t.len() < c.vocab_size => {
                let extra = (t.len()..c.vocab_size).map(|i| format!("<|synthetic_{i}|>"));
                Value::Array(Array::String(t.iter().cloned().chain(extra).collect()))
            }
            ("tokenizer.ggml.token_type", Value::Array(Array::I32(t))) if t.len() < c.vocab_size => {
                Value::Array(Array::I32(t.iter().copied().chain(std::iter::repeat(5)).take(c.vocab_size).collect()))
            }
            ("tokenizer.ggml.scores", Value::Array(Array::F32(t))) if t.len() < c.vocab_size => {
                Value::Array(Array::F32(t.iter().copied().chain(std::iter::repeat(0.0)).take(c.vocab_size).collect()))
            }
            _ => v.clone(),
        };
        w.kv(k, padded);
    }
    if let Some(s) = &c.rope_scaling {
        let f = crate::testing::llama3_rope_factors(c, s);
        w.tensor("rope_freqs.weight", TensorType::F32, &[f.len()], &f).map_err(std::io::Error::other)?;
    }
    let tensors: Vec<(LazyTensor, TensorType, bool)> = expected_tensors(c)
        .into_iter()
        .map(|(name, dims)| {
            let ty = match dims[..] {
                [_] => TensorType::F32,
                // As llama.cpp does, rows that are no whole number of blocks fall back to Q8_0.
                [_, cols] => match quant.type_of(c, &name) {
                    ty if cols % ty.block_size() != 0 => TensorType::Q8_0,
                    ty => ty,
                },
                _ => unreachable!("weights are vectors or matrices"),
            };
            let gguf = crate::names::gguf_name(&name).unwrap_or_else(|| name.clone());
            let norm = name.ends_with("norm.weight");
            let lazy = LazyTensor {
                name: gguf,
                ggml_type: ty.ggml_id(),
                gguf_dims: dims.iter().rev().map(|&d| d as u64).collect(),
                len: byte_len(ty, &dims),
            };
            (lazy, ty, norm)
        })
        .collect();
    let (types, lazy): (Vec<_>, Vec<_>) = tensors.into_iter().map(|(l, ty, norm)| ((ty, norm), l)).unzip();
    let mut state = seed;
    let total = lazy.len();
    // A synthetic model's matrices need no llama.cpp q/k row permutation: random rows stay
    // random in any order.
    w.write_streaming(&lazy, out, |i, buffer| {
        let (ty, norm) = types[i];
        fill(ty, 0.02, norm, &mut state, buffer);
        progress(i + 1, total);
    })
}
