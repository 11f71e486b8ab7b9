//! Nominal floating-point work of scoring and CoS-Low, for benchmarks (GFLOP/s, share of peak).
//!
//! Convention (the usual one for model FLOPs): a multiply-add is 2 FLOPs, and only matrix
//! products and attention are counted. Norms, RoPE, softmax and element-wise ops are O(d) per
//! token, under 1% of the total for these models. The count is the model's nominal work, as an
//! eager implementation does it: a chat-template prefix that labelcast runs once per batch is
//! counted for every prompt, and padding is not counted. So a backend that skips work shows a
//! higher rate than the hardware delivers; the benchmark docs say which count they use.

use labelcast_modelfile::ModelConfig;

use crate::grad::{counted_positions, TokenExample};

/// Multiply-adds of the seven projections for one token, summed over all layers.
fn projection_macs(c: &ModelConfig) -> u64 {
    let (h, i) = (c.hidden_size as u64, c.intermediate_size as u64);
    let (q, kv) = (c.q_dim() as u64, (c.num_kv_heads * c.head_dim) as u64);
    let per_layer = h * (q + 2 * kv) + q * h + 3 * h * i;
    per_layer * c.num_layers as u64
}

/// Sum of the input and output widths of the seven projections of one layer (the LoRA
/// gradient of a projection costs `r · (in + out)` multiply-adds per token).
fn projection_widths(c: &ModelConfig) -> u64 {
    let (h, i) = (c.hidden_size as u64, c.intermediate_size as u64);
    let (q, kv) = (c.q_dim() as u64, (c.num_kv_heads * c.head_dim) as u64);
    // q, k, v: h in; o: q in, h out; gate, up: h in, i out; down: i in, h out.
    (h + q) + 2 * (h + kv) + (q + h) + 2 * (h + i) + (i + h)
}

/// Keys a query at position `pos` (0-based) attends to.
fn keys_seen(c: &ModelConfig, pos: usize) -> u64 {
    let n = pos as u64 + 1;
    c.sliding_window.map_or(n, |w| n.min(w as u64))
}

/// Multiply-adds of attention (QKᵀ and PV) for queries at `positions`, over all layers.
fn attention_macs(c: &ModelConfig, positions: impl Iterator<Item = usize>) -> u64 {
    let keys: u64 = positions.map(|p| keys_seen(c, p)).sum();
    2 * keys * (c.num_heads * c.head_dim) as u64 * c.num_layers as u64
}

/// Multiply-adds of the output layer for one position.
fn logits_macs(c: &ModelConfig) -> u64 {
    (c.hidden_size * c.vocab_size) as u64
}

/// FLOPs of scoring one prompt of `prompt_tokens` tokens that generated `generated` tokens:
/// the prompt's forward (logits at its last position only), then one forward per further
/// generated token (the last token needs none).
pub fn score_flops(c: &ModelConfig, prompt_tokens: usize, generated: usize) -> u64 {
    if prompt_tokens == 0 {
        return 0;
    }
    let forwards = prompt_tokens + generated.saturating_sub(1);
    let macs =
        forwards as u64 * projection_macs(c) + attention_macs(c, 0..forwards) + generated as u64 * logits_macs(c);
    2 * macs
}

/// FLOPs of one example's CoS-Low gradient with LoRA rank `rank`: the forward over all its
/// tokens (logits where a counted answer token is predicted), the backward to every layer's
/// projection inputs (as much as the forward's products, twice its attention), and the
/// LoRA-B gradient `dYᵀ (X Aᵀ)` of every projection at every position.
pub fn coslow_flops(c: &ModelConfig, ex: &TokenExample, excluded: &[u32], rank: usize) -> u64 {
    let t = ex.ids.len();
    let scored = counted_positions(ex, excluded).len() as u64;
    let forward = t as u64 * projection_macs(c) + attention_macs(c, 0..t) + scored * logits_macs(c);
    let backward = t as u64 * projection_macs(c) + 2 * attention_macs(c, 0..t) + scored * logits_macs(c);
    let lora = t as u64 * rank as u64 * projection_widths(c) * c.num_layers as u64;
    2 * (forward + backward + lora)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn smollm2() -> ModelConfig {
        labelcast_modelfile::testing::smollm2_135m_config()
    }

    #[test]
    fn projections_are_the_non_embedding_parameters() {
        // SmolLM2-135M: 134.5M parameters, of which 28.3M are the (tied) embedding and
        // 30 × 2 × 576 the norms; the rest are the projections, one multiply-add each.
        let c = smollm2();
        let norms = (2 * 30 + 1) * 576;
        assert_eq!(projection_macs(&c) + logits_macs(&c) + norms as u64, 134_515_008);
    }

    #[test]
    fn one_token_prompt_without_generation_is_one_forward() {
        let c = smollm2();
        let one = score_flops(&c, 1, 1);
        assert_eq!(one, 2 * (projection_macs(&c) + 2 * 576 * 30 + logits_macs(&c)));
        // A second generated token costs one more forward at position 1 (two keys).
        let two = score_flops(&c, 1, 2);
        assert_eq!(two - one, 2 * (projection_macs(&c) + 2 * 2 * 576 * 30 + logits_macs(&c)));
        assert_eq!(score_flops(&c, 0, 0), 0);
    }

    #[test]
    fn coslow_counts_forward_backward_and_lora_terms() {
        let c = smollm2();
        let ex = TokenExample { ids: vec![1, 2, 3, 4], n_prompt: 2 };
        // Counted positions: 1 and 2 (they predict the two answer tokens).
        let attn: u64 = (1..=4).map(|k| 2 * k * 576 * 30).sum();
        let lora = 4 * 64 * projection_widths(&c) * 30;
        let want = 2 * (2 * 4 * projection_macs(&c) + 3 * attn + 2 * 2 * logits_macs(&c) + lora);
        assert_eq!(coslow_flops(&c, &ex, &[], 64), want);
        // Excluding an answer token drops its logits from both passes.
        assert_eq!(want - coslow_flops(&c, &ex, &[4], 64), 2 * 2 * logits_macs(&c));
    }

    #[test]
    fn sliding_window_caps_the_keys() {
        let c = ModelConfig { sliding_window: Some(2), ..smollm2() };
        assert_eq!(keys_seen(&c, 0), 1);
        assert_eq!(keys_seen(&c, 5), 2);
    }
}
