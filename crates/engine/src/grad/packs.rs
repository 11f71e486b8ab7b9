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

/// Bytes of a softmax row over the vocabulary per answer token in the loss: f32 logits, f64
/// probabilities, their f64 rows on the host and the concatenated copy (`backward::loss_and_grad`).
const LOSS_BYTES_PER_LOGIT: u64 = 4 + 8 + 8 + 8;

/// What a pack of `tokens` tokens, `answer_tokens` of them in the loss, takes at the CPU
/// backward's peak, in bytes (f32): every layer's recorded activations (`LayerActs`: eleven
/// token-wide tensors and the attention probabilities over the whole pack), one more layer's
/// worth of transients (scores, mask, the backward's gradients), the final norm's input, and
/// the loss's softmax over the vocabulary.
pub fn activation_bytes(c: &ModelConfig, tokens: usize, answer_tokens: usize) -> u64 {
    peak_bytes(c, tokens, answer_tokens, c.num_layers as u64 + 1, false)
}

/// `activation_bytes` where only each layer's input is kept and a layer's activations are
/// computed again when the backward pass reaches it (`ModelActs::checkpoint`): one layer's
/// recorded and one's transients.
pub fn checkpointed_bytes(c: &ModelConfig, tokens: usize, answer_tokens: usize) -> u64 {
    peak_bytes(c, tokens, answer_tokens, 2, true)
}

fn peak_bytes(c: &ModelConfig, tokens: usize, answer_tokens: usize, layers: u64, inputs: bool) -> u64 {
    let (t, a) = (tokens as u64, answer_tokens as u64);
    let (h, i) = (c.hidden_size as u64, c.intermediate_size as u64);
    let per_token = 4 * h + 2 * c.q_dim() as u64 + 2 * c.kv_dim() as u64 + 3 * i + 2;
    let per_layer = t * per_token + c.num_heads as u64 * t * t;
    let kept_inputs = if inputs { c.num_layers as u64 * t * h } else { 0 };
    let floats = layers * per_layer + kept_inputs + t * t + 2 * t * h;
    4 * floats + LOSS_BYTES_PER_LOGIT * a * c.vocab_size as u64
}

/// Consecutive ranges of examples, each of at most `max_tokens` tokens and, if `max_bytes` is
/// given, at most that many `checkpointed_bytes` (the backward keeps every layer's activations
/// only where `activation_bytes` fit too). An example over either bound runs alone.
pub fn packs(
    c: &ModelConfig,
    examples: &[TokenExample],
    max_tokens: usize,
    max_bytes: Option<u64>,
) -> Vec<Range<usize>> {
    consecutive(examples, |s| {
        let (t, a) = (s.iter().map(|e| e.ids.len()).sum(), s.iter().map(TokenExample::answer_len).sum());
        t <= max_tokens && max_bytes.is_none_or(|b| checkpointed_bytes(c, t, a) <= b)
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
pub fn cpu_bytes(c: &ModelConfig) -> impl Fn(usize, usize, bool) -> u64 + '_ {
    move |t, a, again| if again { checkpointed_bytes(c, t, a) } else { activation_bytes(c, t, a) }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use labelcast_modelfile::synth::config;

    /// An example of `len` tokens, the last `answer` of them its answer's.
    pub(crate) fn ex(len: usize, answer: usize) -> TokenExample {
        TokenExample { ids: vec![1; len], n_prompt: len - answer }
    }

    #[test]
    fn the_estimate_grows_with_width_and_quadratically_with_the_pack() {
        let small = config("smollm2-135m-instruct").unwrap();
        let big = config("qwen2.5-14b-instruct").unwrap();
        // SmolLM2 was measured at about 1.5 MB a token in 512-token packs (LoraOptions).
        let per_token = activation_bytes(&small, 512, 0) as f64 / 512.0;
        assert!((1.4e6..1.8e6).contains(&per_token), "{per_token}");
        // The 14B holds 9 GB or more in one such pack: the reason packs are bounded in bytes.
        assert!(activation_bytes(&big, 512, 0) > 9_000_000_000);
        let (one, two) = (activation_bytes(&big, 256, 0), activation_bytes(&big, 512, 0));
        assert!(two > 2 * one, "the attention probabilities grow with the square");
        // An answer token adds a softmax row over the 152,064-token vocabulary.
        assert_eq!(activation_bytes(&big, 256, 1) - one, LOSS_BYTES_PER_LOGIT * 152_064);
    }

    #[test]
    fn computing_layers_again_keeps_a_wide_models_pack_small() {
        let big = config("qwen2.5-14b-instruct").unwrap();
        let (full, again) = (activation_bytes(&big, 512, 64), checkpointed_bytes(&big, 512, 64));
        assert!(again * 8 < full, "{again} against {full}");
        // Each layer's input stays: 48 × 512 × 5,120 floats.
        assert!(again > 4 * 48 * 512 * 5120);
    }

    #[test]
    fn packs_stop_at_whichever_bound_comes_first() {
        let c = config("qwen2.5-14b-instruct").unwrap();
        let examples: Vec<_> = (0..10).map(|_| ex(60, 10)).collect();
        // Tokens alone: 8 examples of 60 fit in 512.
        assert_eq!(packs(&c, &examples, 512, None), vec![0..8, 8..10]);
        // A budget that holds two examples' activations, computed again, but not three.
        let budget = checkpointed_bytes(&c, 120, 20) + 1;
        assert!(checkpointed_bytes(&c, 180, 30) > budget);
        assert_eq!(packs(&c, &examples, 512, Some(budget)), vec![0..2, 2..4, 4..6, 6..8, 8..10]);
        // A budget no example fits: each runs alone rather than not at all.
        let alone: Vec<_> = (0..10).map(|i| i..i + 1).collect();
        assert_eq!(packs(&c, &examples, 512, Some(1)), alone);
        assert_eq!(packs(&c, &examples, 1, None), alone);
        assert!(packs(&c, &[], 512, Some(1)).is_empty());
    }

    #[test]
    fn a_budget_means_so_many_tokens_for_a_model() {
        let gib = 1u64 << 30;
        let small = config("smollm2-135m-instruct").unwrap();
        let big = config("qwen2.5-14b-instruct").unwrap();
        // SmolLM2 keeps every layer of a 512-token pack within 1 GiB; the 14B only a small
        // pack, or 512 tokens and more computing each layer again.
        assert!(tokens_within(gib, 0.0, cpu_bytes(&small)).0 > 512);
        // The worker's 128-token packs within its 512 MiB, every token an answer's.
        assert!(activation_bytes(&small, 128, 128) < 512 << 20);
        let (t, again) = tokens_within(gib, 0.0, cpu_bytes(&big));
        assert!((50..100).contains(&t), "{t}");
        assert!(again > 512, "{again}");
        assert!(activation_bytes(&big, t, 0) <= gib && activation_bytes(&big, t + 1, 0) > gib);
        assert!(tokens_within(gib, 0.5, cpu_bytes(&big)).0 < t, "answers in the loss cost their softmax rows");
        assert_eq!(tokens_within(1, 0.0, cpu_bytes(&big)), (1, 1));
    }
}
