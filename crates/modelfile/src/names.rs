//! GGUF tensor names -> Hugging Face names, and undoing llama.cpp's Q/K row permutation.

use crate::Result;
use candle_core::Tensor;

/// Per-layer GGUF suffix -> Hugging Face suffix.
const LAYER_NAMES: [(&str, &str); 15] = [
    ("attn_norm.weight", "input_layernorm.weight"),
    ("attn_q.weight", "self_attn.q_proj.weight"),
    ("attn_k.weight", "self_attn.k_proj.weight"),
    ("attn_v.weight", "self_attn.v_proj.weight"),
    ("attn_output.weight", "self_attn.o_proj.weight"),
    ("attn_q.bias", "self_attn.q_proj.bias"),
    ("attn_k.bias", "self_attn.k_proj.bias"),
    ("attn_v.bias", "self_attn.v_proj.bias"),
    ("attn_output.bias", "self_attn.o_proj.bias"),
    ("ffn_norm.weight", "post_attention_layernorm.weight"),
    ("ffn_gate.weight", "mlp.gate_proj.weight"),
    ("ffn_up.weight", "mlp.up_proj.weight"),
    ("ffn_down.weight", "mlp.down_proj.weight"),
    // Some writers store norm biases though llama/qwen2 have none; mapped so nothing is lost.
    ("attn_norm.bias", "input_layernorm.bias"),
    ("ffn_norm.bias", "post_attention_layernorm.bias"),
];

const GLOBAL_NAMES: [(&str, &str); 3] = [
    ("token_embd.weight", "model.embed_tokens.weight"),
    ("output_norm.weight", "model.norm.weight"),
    ("output.weight", "lm_head.weight"),
];

/// The Hugging Face name of a GGUF tensor, or None for tensors outside the llama/qwen2 layout
/// (those stay reachable under their GGUF name).
pub fn hf_name(gguf: &str) -> Option<String> {
    if let Some((_, hf)) = GLOBAL_NAMES.iter().find(|(g, _)| *g == gguf) {
        return Some(hf.to_string());
    }
    let rest = gguf.strip_prefix("blk.")?;
    let (layer, suffix) = rest.split_once('.')?;
    let layer: usize = parse_index(layer)?;
    let (_, hf) = LAYER_NAMES.iter().find(|(g, _)| *g == suffix)?;
    Some(format!("model.layers.{layer}.{hf}"))
}

/// The GGUF name of a Hugging Face tensor (the inverse of [`hf_name`]).
pub fn gguf_name(hf: &str) -> Option<String> {
    if let Some((g, _)) = GLOBAL_NAMES.iter().find(|(_, h)| *h == hf) {
        return Some(g.to_string());
    }
    let rest = hf.strip_prefix("model.layers.")?;
    let (layer, suffix) = rest.split_once('.')?;
    let layer: usize = parse_index(layer)?;
    let (g, _) = LAYER_NAMES.iter().find(|(_, h)| *h == suffix)?;
    Some(format!("blk.{layer}.{g}"))
}

/// Plain decimal only, so "blk.+1" or "blk.01" do not alias "blk.1".
fn parse_index(s: &str) -> Option<usize> {
    let plain = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if plain {
        s.parse().ok()
    } else {
        None
    }
}

/// The number of heads a llama-architecture GGUF permuted this tensor with, if it did:
/// llama.cpp's converter reorders the rows of each q head (and k head, grouped by KV head) from
/// Hugging Face's "first half / second half" rotary layout to interleaved pairs.
pub fn permuted_heads(hf: &str, num_heads: usize, num_kv_heads: usize) -> Option<usize> {
    let suffix = hf.strip_prefix("model.layers.")?.split_once('.')?.1;
    match suffix {
        "self_attn.q_proj.weight" | "self_attn.q_proj.bias" => Some(num_heads),
        "self_attn.k_proj.weight" | "self_attn.k_proj.bias" => Some(num_kv_heads),
        _ => None,
    }
}

/// The GGUF row that holds Hugging Face row `r` of a projection with `rows` rows permuted over
/// `n_head` heads. Within a head of `d` rows, HF row `i * d/2 + j` (i = 0 first half, 1 second
/// half) was written to GGUF row `2 * j + i` - the inverse of llama.cpp's `permute`, i.e.
/// transformers' `reverse_permute_weights`. `rows` must be a multiple of `2 * n_head`.
pub fn hf_row_source(r: usize, rows: usize, n_head: usize) -> usize {
    let d = rows / n_head;
    let half = d / 2;
    let (head, within) = (r / d, r % d);
    let (i, j) = (within / half, within % half);
    head * d + 2 * j + i
}

/// True when a projection with `rows` rows can be un-permuted over `n_head` heads.
pub fn can_unpermute(rows: usize, n_head: usize) -> bool {
    n_head > 0 && rows % n_head == 0 && (rows / n_head) % 2 == 0 && rows > 0
}

/// Un-permutes the rows (dimension 0) of a dequantized q/k weight or bias.
pub fn unpermute_tensor(t: &Tensor, n_head: usize) -> Result<Tensor> {
    let rows = t.dim(0)?;
    let idx: Vec<u32> = (0..rows).map(|r| hf_row_source(r, rows, n_head) as u32).collect();
    let idx = Tensor::from_vec(idx, rows, t.device())?;
    Ok(t.index_select(&idx, 0)?)
}

/// Un-permutes raw rows of `row_bytes` bytes each. The permutation moves whole rows and a
/// quantized row is a whole number of blocks, so quantized data can be reordered as it is.
pub fn unpermute_rows(bytes: &[u8], row_bytes: usize, n_head: usize) -> Vec<u8> {
    let rows = bytes.len().checked_div(row_bytes).unwrap_or(0);
    let mut out = Vec::with_capacity(bytes.len());
    for r in 0..rows {
        let src = hf_row_source(r, rows, n_head);
        out.extend_from_slice(&bytes[src * row_bytes..(src + 1) * row_bytes]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn names_map_both_ways() {
        let pairs = [
            ("token_embd.weight", "model.embed_tokens.weight"),
            ("output.weight", "lm_head.weight"),
            ("output_norm.weight", "model.norm.weight"),
            ("blk.0.attn_norm.weight", "model.layers.0.input_layernorm.weight"),
            ("blk.12.attn_q.weight", "model.layers.12.self_attn.q_proj.weight"),
            ("blk.3.attn_k.bias", "model.layers.3.self_attn.k_proj.bias"),
            ("blk.3.attn_output.weight", "model.layers.3.self_attn.o_proj.weight"),
            ("blk.29.ffn_norm.weight", "model.layers.29.post_attention_layernorm.weight"),
            ("blk.1.ffn_down.weight", "model.layers.1.mlp.down_proj.weight"),
        ];
        for (g, h) in pairs {
            assert_eq!(hf_name(g).as_deref(), Some(h), "{g}");
            assert_eq!(gguf_name(h).as_deref(), Some(g), "{h}");
        }
        for odd in ["blk.01.attn_q.weight", "blk.x.attn_q.weight", "blk.1.attn_qq.weight", "rope_freqs.weight", "blk."]
        {
            assert_eq!(hf_name(odd), None, "{odd}");
        }
    }

    /// One head of 6 rows: llama.cpp wrote HF rows [h0 h1 h2 | h3 h4 h5] as interleaved pairs
    /// (h0 h3)(h1 h4)(h2 h5), i.e. GGUF rows g = [h0, h3, h1, h4, h2, h5]. Un-permuting must
    /// return the even GGUF rows then the odd ones: [g0, g2, g4, g1, g3, g5].
    #[test]
    fn unpermute_matches_hand_computed_rows() {
        let rows = |n_rows: usize, n_head: usize| -> Vec<usize> {
            (0..n_rows).map(|r| hf_row_source(r, n_rows, n_head)).collect()
        };
        assert_eq!(rows(6, 1), [0, 2, 4, 1, 3, 5]);
        assert_eq!(rows(4, 1), [0, 2, 1, 3]);
        // Two heads of 4 rows: each head separately.
        assert_eq!(rows(8, 2), [0, 2, 1, 3, 4, 6, 5, 7]);

        // A [8, 2] weight whose value is 10 * GGUF row + column, two heads.
        let gguf: Vec<f32> = (0..8).flat_map(|r| [10.0 * r as f32, 10.0 * r as f32 + 1.0]).collect();
        let t = Tensor::from_vec(gguf.clone(), (8, 2), &Device::Cpu).unwrap();
        let hf = unpermute_tensor(&t, 2).unwrap().to_vec2::<f32>().unwrap();
        let expected: Vec<Vec<f32>> =
            [0, 2, 1, 3, 4, 6, 5, 7].iter().map(|&r| vec![10.0 * r as f32, 10.0 * r as f32 + 1.0]).collect();
        assert_eq!(hf, expected);

        // Raw rows move the same way (2 f32 = 8 bytes per row).
        let bytes: Vec<u8> = gguf.iter().flat_map(|x| x.to_le_bytes()).collect();
        let moved = unpermute_rows(&bytes, 8, 2);
        let back: Vec<f32> = moved.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(back, expected.concat());

        // Biases (1-D) too.
        let b = Tensor::from_vec((0..4).map(|x| x as f32).collect::<Vec<_>>(), 4, &Device::Cpu).unwrap();
        assert_eq!(unpermute_tensor(&b, 1).unwrap().to_vec1::<f32>().unwrap(), [0.0, 2.0, 1.0, 3.0]);
    }

    #[test]
    fn unpermute_inverts_llama_cpp_permute() {
        let (rows, cols, heads) = (24, 3, 3);
        let hf: Vec<f32> = (0..rows * cols).map(|x| x as f32).collect();
        let gguf = crate::testing::llama_cpp_permute(&hf, rows, heads);
        assert_ne!(gguf, hf);
        let t = Tensor::from_vec(gguf, (rows, cols), &Device::Cpu).unwrap();
        let back = unpermute_tensor(&t, heads).unwrap().flatten_all().unwrap().to_vec1::<f32>().unwrap();
        assert_eq!(back, hf);
    }
}
