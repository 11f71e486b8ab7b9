//! How the CPU backend groups CoS-Low's examples into packs: consecutive examples on one token
//! axis, each still attending only to itself, so a pack is one set of matrix products. Larger
//! packs multiply faster (and quantized weights are dequantized once a pack, not once an
//! example); they also keep more activations for the backward pass, and that grows with the
//! model's width: a 512-token pack is 0.8 GB for SmolLM2 but 9 GB for Qwen2.5-14B. So a pack is
//! bounded in tokens and, where a budget is given, in bytes: above `activation_bytes` the CPU
//! computes each layer again in the backward pass, and only above `checkpointed_bytes` does a
//! pack hold fewer tokens.

use std::ops::Range;

use labelcast_modelfile::ModelConfig;

use super::TokenExample;

/// Floats of the loss per logit (answer token × vocabulary entry) at its peak: the logits and
/// their softmax in f64 with its exponentials (`backward::loss_and_grad`).
const LOSS_FLOATS_PER_LOGIT: u64 = 6;

/// What the CPU backward's memory depends on besides a pack's tokens: the model's shapes, and
/// the most floats of a weight matrix it dequantizes at once (`Weights::dequant_slice_floats`;
/// 0 for dense weights).
#[derive(Debug, Clone, Copy)]
pub struct CpuModel<'a> {
    pub config: &'a ModelConfig,
    pub slice_floats: u64,
}

/// What a pack of `tokens` tokens, `answer_tokens` of them in the loss, takes at the CPU
/// backward's peak, in bytes (f32): every layer's recorded activations (`LayerActs`: eleven
/// token-wide tensors and the attention probabilities over the whole pack), the tensors held
/// throughout, and the largest of one layer step's temporaries or the loss's softmax over the
/// vocabulary (`peak_bytes`).
/// `tests/activation_memory.rs` holds it to what the backward really allocates.
pub fn activation_bytes(m: CpuModel<'_>, tokens: usize, answer_tokens: usize) -> u64 {
    peak_bytes(m, tokens, answer_tokens, false)
}

/// `activation_bytes` where only each layer's input is kept and a layer's activations are
/// computed again when the backward pass reaches it (`ModelActs::checkpoint`): one layer's
/// recorded and one step's temporaries.
pub fn checkpointed_bytes(m: CpuModel<'_>, tokens: usize, answer_tokens: usize) -> u64 {
    peak_bytes(m, tokens, answer_tokens, true)
}

fn peak_bytes(m: CpuModel<'_>, tokens: usize, answer_tokens: usize, again: bool) -> u64 {
    let c = m.config;
    let (t, a) = (tokens as u64, answer_tokens as u64);
    let (h, i, q, kv) = (c.hidden_size as u64, c.intermediate_size as u64, c.q_dim() as u64, c.kv_dim() as u64);
    let scores = c.num_heads as u64 * t * t;
    let recorded = t * (4 * h + 2 * q + 2 * kv + 3 * i + 2) + scores;
    let layers = c.num_layers as u64;
    // Held throughout: the mask, the rotary tables, dx and dx_mid, the final norm's input.
    let held = t * t + 4 * t * c.head_dim as u64 + 3 * t * h + t;
    let kept = if again { layers * t * h } else { layers * recorded };
    // A layer's step: two [heads, T, T] tensors (softmax and its backward, `cpu::fused`) or
    // three [T, I] (the MLP's backward), with a product's parts and partial sums (up to three
    // of its output width) and the weight slice it dequantizes.
    let widest = h.max(i).max(q);
    let step = (2 * scores).max(3 * t * i) + 3 * t * widest + m.slice_floats;
    let loss = LOSS_FLOATS_PER_LOGIT * a * c.vocab_size as u64 + a * h + m.slice_floats;
    let layer_phase = if again { recorded + step } else { step };
    4 * (kept + held + layer_phase.max(loss))
}

/// Consecutive ranges of examples, each of at most `max_tokens` tokens and, if `max_bytes` is
/// given, at most that many `checkpointed_bytes` (the backward keeps every layer's activations
/// only where `activation_bytes` fit too). An example over either bound runs alone.
pub fn packs(
    m: CpuModel<'_>,
    examples: &[TokenExample],
    max_tokens: usize,
    max_bytes: Option<u64>,
) -> Vec<Range<usize>> {
    consecutive(examples, |s| {
        let (t, a) = (s.iter().map(|e| e.ids.len()).sum(), s.iter().map(TokenExample::answer_len).sum());
        t <= max_tokens && max_bytes.is_none_or(|b| checkpointed_bytes(m, t, a) <= b)
    })
}

/// Consecutive ranges of examples, each as long as `fits` holds for it (the CPU's packs, the
/// GPU's padded batches); an example that does not fit alone runs alone.
pub(crate) fn consecutive(examples: &[TokenExample], fits: impl Fn(&[TokenExample]) -> bool) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::new();
    for i in 0..examples.len() {
        match out.last_mut() {
            Some(r) if fits(&examples[r.start..=i]) => r.end = i + 1,
            _ => out.push(i..i + 1),
        }
    }
    out
}

/// The most tokens a pack whose answers are `answer_share` of its tokens can hold within
/// `max_bytes` (at least 1), by a backend's estimate `bytes(tokens, answers, again)`: keeping
/// every layer's activations, and computing them again (`again`), for saying what a budget means.
pub fn tokens_within(max_bytes: u64, answer_share: f64, bytes: impl Fn(usize, usize, bool) -> u64) -> (usize, usize) {
    let answers = |t: usize| (t as f64 * answer_share).ceil() as usize;
    let most = |again: bool| {
        let fits = |t: usize| bytes(t, answers(t), again) <= max_bytes;
        let (mut lo, mut hi) = (1usize, 1usize << 20);
        if !fits(lo) {
            return 1;
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if fits(mid) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    };
    (most(false), most(true))
}

/// The CPU backward's estimate in `tokens_within`'s form.
pub fn cpu_bytes(m: CpuModel<'_>) -> impl Fn(usize, usize, bool) -> u64 + '_ {
    move |t, a, again| if again { checkpointed_bytes(m, t, a) } else { activation_bytes(m, t, a) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use labelcast_modelfile::synth::config;

    /// A model's shapes with dense weights (no dequantized slices).
    fn dense(c: &ModelConfig) -> CpuModel<'_> {
        CpuModel { config: c, slice_floats: 0 }
    }

    /// An example of `len` tokens, the last `answer` of them its answer's.
    pub(crate) fn ex(len: usize, answer: usize) -> TokenExample {
        TokenExample { ids: vec![1; len], n_prompt: len - answer }
    }

    #[test]
    fn the_estimate_grows_with_width_and_quadratically_with_the_pack() {
        let small = config("smollm2-135m-instruct").unwrap();
        let big = config("qwen2.5-14b-instruct").unwrap();
        // SmolLM2 was measured at about 1.5 MB a token in 512-token packs (LoraOptions).
        let per_token = activation_bytes(dense(&small), 512, 0) as f64 / 512.0;
        assert!((1.4e6..1.8e6).contains(&per_token), "{per_token}");
        // The 14B holds 9 GB or more in one such pack: the reason packs are bounded in bytes.
        assert!(activation_bytes(dense(&big), 512, 0) > 9_000_000_000);
        let (one, two) = (activation_bytes(dense(&big), 256, 0), activation_bytes(dense(&big), 512, 0));
        assert!(two > 2 * one, "the attention probabilities grow with the square");
        // Where the loss is the peak, an answer token adds a softmax row over the 152,064-token
        // vocabulary (and its hidden state).
        let (a, b) = (activation_bytes(dense(&big), 256, 200), activation_bytes(dense(&big), 256, 201));
        assert_eq!(b - a, 4 * (LOSS_FLOATS_PER_LOGIT * 152_064 + 5120));
    }

    #[test]
    fn computing_layers_again_keeps_a_wide_models_pack_small() {
        let big = config("qwen2.5-14b-instruct").unwrap();
        let (full, again) = (activation_bytes(dense(&big), 512, 64), checkpointed_bytes(dense(&big), 512, 64));
        assert!(again * 8 < full, "{again} against {full}");
        // Each layer's input stays: 48 × 512 × 5,120 floats.
        assert!(again > 4 * 48 * 512 * 5120);
    }

    #[test]
    fn packs_stop_at_whichever_bound_comes_first() {
        let c = config("qwen2.5-14b-instruct").unwrap();
        let examples: Vec<_> = (0..10).map(|_| ex(60, 10)).collect();
        // Tokens alone: 8 examples of 60 fit in 512.
        assert_eq!(packs(dense(&c), &examples, 512, None), vec![0..8, 8..10]);
        // A budget that holds two examples' activations, computed again, but not three.
        let budget = checkpointed_bytes(dense(&c), 120, 20) + 1;
        assert!(checkpointed_bytes(dense(&c), 180, 30) > budget);
        assert_eq!(packs(dense(&c), &examples, 512, Some(budget)), vec![0..2, 2..4, 4..6, 6..8, 8..10]);
        // A budget no example fits: each runs alone rather than not at all.
        let alone: Vec<_> = (0..10).map(|i| i..i + 1).collect();
        assert_eq!(packs(dense(&c), &examples, 512, Some(1)), alone);
        assert_eq!(packs(dense(&c), &examples, 1, None), alone);
        assert!(packs(dense(&c), &[], 512, Some(1)).is_empty());
    }

    #[test]
    fn a_budget_means_so_many_tokens_for_a_model() {
        let gib = 1u64 << 30;
        let small = config("smollm2-135m-instruct").unwrap();
        let big = config("qwen2.5-14b-instruct").unwrap();
        // SmolLM2 keeps every layer of a 512-token pack within 1 GiB; the 14B only a small
        // pack, or 512 tokens and more computing each layer again.
        assert!(tokens_within(gib, 0.0, cpu_bytes(dense(&small))).0 > 512);
        // The worker's 128-token packs within its 512 MiB, every token an answer's.
        assert!(activation_bytes(dense(&small), 128, 128) < 512 << 20);
        let (t, again) = tokens_within(gib, 0.0, cpu_bytes(dense(&big)));
        assert!((50..100).contains(&t), "{t}");
        assert!(again > 512, "{again}");
        assert!(activation_bytes(dense(&big), t, 0) <= gib && activation_bytes(dense(&big), t + 1, 0) > gib);
        assert!(tokens_within(gib, 0.5, cpu_bytes(dense(&big))).0 < t, "answers in the loss cost their softmax rows");
        assert_eq!(tokens_within(1, 0.0, cpu_bytes(dense(&big))), (1, 1));
    }
}
