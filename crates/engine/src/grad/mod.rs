//! The backend-independent parts of CoS-Low (METHOD 1d): the options and result, tokenized
//! examples and their packing, LoRA A, the exact and sketched stores, Gram → cosines. The
//! per-example backward passes are the backends' (`backend/cpu/backward.rs`,
//! `backend/gpu/backward.rs`); the orchestration over a backend is `crate::coslow`.

pub mod exact;
pub mod examples;
pub mod lora;
pub mod packs;
pub mod sketch;

pub use exact::{check_exact_budget, exact_bytes_needed, exact_floats_per_token, ExactMethod, ExactStore};
pub use examples::{counted_positions, segments, targets, ProjSink, Target, TokenExample};
pub use lora::{lora_grad_len, lora_offset, part_segments, LoraA, DEFAULT_ALPHA, DEFAULT_RANK, PART_GROUPS};
pub use packs::{activation_bytes, checkpointed_bytes, cpu_bytes, packs, tokens_within, CpuModel};
pub use sketch::{cosines_from_gram, GradStore, Reduction, DEFAULT_BUDGET, GRAM_CHUNK};

use labelcast_core::suite::CoslowParts;

/// Which gradients the cosines compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GradVariant {
    /// LoRA-B gradients (the paper's CoS-Low).
    #[default]
    Lora,
    /// Full weight gradients of the seven projection types (no random projection).
    Exact,
}

/// Where the LoRA A matrices come from.
#[derive(Debug, Clone, PartialEq)]
pub enum AdapterInit {
    /// Drawn like PEFT (uniform ±1/√in) from this seed.
    Seeded(u64),
    /// Read from a PEFT safetensors file (its bytes), e.g. to reproduce a PyTorch run.
    Safetensors(Vec<u8>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoraOptions {
    pub variant: GradVariant,
    pub rank: usize,
    pub alpha: f64,
    pub init: AdapterInit,
    /// Floats kept per example for the LoRA variant: the exact gradient when it fits, else
    /// a count-sketch of this many buckets (see `sketch` for the error that adds). The exact
    /// variant may hold as much in all (f32, budget × examples): more is refused up front.
    pub budget: usize,
    /// The most the kept gradients of all the examples may take together, in bytes (a memory
    /// the device bounds: the browser's wasm32): the per-example budget shrinks to fit, and the
    /// sketch's added error says what that costs. None: `budget` alone.
    pub store_bytes: Option<u64>,
    pub sketch_seed: u64,
    pub exact_method: ExactMethod,
    /// Render each example's prompt with the chat template (generation prompt included)
    /// before appending the answer.
    pub chat_template: bool,
    /// Examples are run in packs of about this many tokens (each example still sees only
    /// itself): larger matrix products, more activation memory (SmolLM2: ~1.5 MB a token).
    /// The CPU backend's; the GPU pads its own batches (`Backend::grad_packs`).
    pub pack_tokens: usize,
    /// The most activation memory a pack may take, in bytes (`Backend::pack_bytes` estimates
    /// it: `activation_bytes` on the CPU, `gpu_batch_bytes` on the GPU): above what every layer
    /// keeps, the backend keeps only each layer's input and computes the layer again in the
    /// backward pass (the same bits); above even that, packs hold fewer tokens (`grad::packs`,
    /// the GPU's `grad_packs`). None: `pack_tokens` alone, every layer kept. Like `pack_tokens`,
    /// it changes only float rounding, if that.
    pub pack_bytes: Option<u64>,
    /// Answer tokens left out of the loss at the start of each answer (0, the paper's: every
    /// answer token counts). A calibration candidate: with 1, the first answer token, which
    /// mostly learns the answer's format, no longer dominates the gradients.
    pub skip_answer_tokens: usize,
    /// Also compute CoS-Low of parts of the gradient (`CosLowResult::parts`; one more pass
    /// over the kept gradients). A calibration candidate, off for a user's run.
    pub parts: bool,
    /// What to do with an example longer than the model's context (`Engine::coslow`): cut its
    /// prompt's text from the end (the answer is always kept whole), leave it out (CoS-Low
    /// compares the others), or fail naming it.
    pub long_examples: crate::infer::LongRows,
}

pub const DEFAULT_PACK_TOKENS: usize = 512;

impl LoraOptions {
    /// Floats kept per example for `examples` examples: `budget`, within `store_bytes` (f32).
    pub fn per_example_budget(&self, examples: usize) -> usize {
        match self.store_bytes {
            Some(bytes) => {
                let fit = bytes / (4 * examples.max(1) as u64);
                self.budget.min(usize::try_from(fit).unwrap_or(usize::MAX)).max(1)
            }
            None => self.budget,
        }
    }
}

impl Default for LoraOptions {
    fn default() -> Self {
        LoraOptions {
            variant: GradVariant::Lora,
            rank: DEFAULT_RANK,
            alpha: DEFAULT_ALPHA,
            init: AdapterInit::Seeded(0),
            budget: DEFAULT_BUDGET,
            store_bytes: None,
            sketch_seed: 0,
            exact_method: ExactMethod::Auto,
            chat_template: true,
            pack_tokens: DEFAULT_PACK_TOKENS,
            pack_bytes: None,
            skip_answer_tokens: 0,
            parts: false,
            long_examples: crate::infer::LongRows::Cut,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CosLowResult {
    /// Median of the pairwise cosines.
    pub coslow: f64,
    /// K × K cosines (diagonal 1).
    pub cosines: Vec<Vec<f64>>,
    /// K (K − 1) / 2.
    pub pairs: usize,
    pub examples: usize,
    /// Each example's loss (mean cross-entropy over its counted answer tokens).
    pub losses: Vec<f64>,
    /// How the LoRA gradients were kept (`None` for the exact variant).
    pub reduction: Option<Reduction>,
    /// The standard deviation a count-sketch adds to a cosine near CoS-Low
    /// (`Reduction::cosine_sd`); None when the gradients were kept exactly.
    pub sketch_sd: Option<f64>,
    /// K × K dot products of the kept gradients, whose normalisation gives `cosines`; kept so
    /// that variants (cosines after removing the examples' mean gradient) need no second run.
    pub gram: Vec<Vec<f64>>,
    /// Each example's counted answer tokens (the positions its loss averages over).
    pub answer_tokens: Vec<usize>,
    /// CoS-Low of parts of the gradient (thirds of the depth, attention and MLP), where the
    /// gradients were kept exactly and the backend computes them (`Backend::gram_groups`).
    pub parts: Option<CoslowParts>,
    /// Per example given, whether its prompt was cut to fit the context
    /// (`LoraOptions::long_examples`); all `None` for examples given as tokens.
    pub cut: Vec<Option<crate::infer::Cut>>,
    /// Per example given, its token count when it was longer than the context and left out
    /// (`LongRows::Skip`). Everything above (`examples`, `cosines`, `losses`, …) is of the
    /// examples kept, in their order.
    pub skipped: Vec<Option<usize>>,
}

/// The examples with their first `skip` answer tokens moved into the prompt (out of the
/// loss), keeping at least one answer token each.
pub(crate) fn skip_answer_tokens(examples: &[TokenExample], skip: usize) -> Vec<TokenExample> {
    examples
        .iter()
        .map(|e| {
            let answer = e.answer_len();
            TokenExample { ids: e.ids.clone(), n_prompt: e.n_prompt + skip.min(answer.saturating_sub(1)) }
        })
        .collect()
}
