//! CoS-Low on any backend (METHOD 1d): the LoRA A matrices, per-example gradients in packs
//! kept by the backend's store, their Gram, the cosines and their median. Above both `grad`
//! (backend-independent pieces) and `backend` (the math), so neither imports the other.

use labelcast_core::suite::CoslowParts;

use crate::backend::Backend;
use crate::error::{EngineError, Result};
use crate::grad::{
    check_exact_budget, cosines_from_gram, counted_positions, lora_grad_len, part_segments, skip_answer_tokens,
    AdapterInit, CosLowResult, ExactStore, GradVariant, LoraA, LoraOptions, Reduction, TokenExample, PART_GROUPS,
};
use crate::{report, Proceed, Progress};

/// CoS-Low of tokenized examples on any backend. `progress` is asked before every pack
/// whether to go on (`EngineError::Cancelled` if not).
pub async fn coslow<B: Backend, R: Proceed>(
    backend: &B,
    examples: &[TokenExample],
    excluded: &[u32],
    opts: &LoraOptions,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<CosLowResult> {
    let k = examples.len();
    if k < 2 {
        return Err(EngineError::Invalid(format!("CoS-Low needs at least 2 examples, got {k}")));
    }
    let skipped;
    let examples = if opts.skip_answer_tokens > 0 {
        skipped = skip_answer_tokens(examples, opts.skip_answer_tokens);
        &skipped[..]
    } else {
        examples
    };
    let answer_tokens = examples.iter().map(|e| counted_positions(e, excluded).len()).collect();
    let c = backend.config().clone();
    let mut losses = Vec::with_capacity(k);
    let mut parts = None;
    let (gram, reduction) = match opts.variant {
        GradVariant::Lora => {
            let a = match &opts.init {
                AdapterInit::Seeded(seed) => LoraA::seeded(&c, opts.rank, opts.alpha, *seed)?,
                AdapterInit::Safetensors(bytes) => LoraA::from_safetensors(&c, bytes, opts.alpha)?,
            };
            let adapters = backend.load_adapters(&a).await?;
            let len = lora_grad_len(&c, a.rank);
            let reduction = Reduction::for_budget(len, opts.per_example_budget(k), opts.sketch_seed);
            let mut store = backend.grad_store(len, k, reduction).await?;
            for r in backend.grad_packs(examples, opts.pack_tokens) {
                report(progress, Progress::Gradients { done: r.start, total: k }).await?;
                let pack = &examples[r.clone()];
                losses.extend(backend.lora_gradients(r.start, pack, excluded, &adapters, &mut store).await?);
            }
            report(progress, Progress::Gradients { done: k, total: k }).await?;
            if opts.parts && reduction == Reduction::Exact {
                let segments = part_segments(&c, a.rank);
                if let Some(g) = backend.gram_groups(&store, &segments, PART_GROUPS).await? {
                    parts = Some(CoslowParts::from_group_grams(&g)?);
                }
            }
            (backend.gram(&store).await?, Some(reduction))
        }
        GradVariant::Exact => {
            check_exact_budget(&c, examples, opts.exact_method, opts.budget)?;
            let mut store = ExactStore::new(c.num_layers);
            for r in backend.grad_packs(examples, opts.pack_tokens) {
                report(progress, Progress::Gradients { done: r.start, total: k }).await?;
                losses.extend(backend.exact_factors(r.start, &examples[r.clone()], excluded, &mut store).await?);
            }
            report(progress, Progress::Gradients { done: k, total: k }).await?;
            (store.gram(opts.exact_method)?, None)
        }
    };
    let cosines = cosines_from_gram(&gram)?;
    let coslow = labelcast_core::forecast::coslow_from_matrix(&cosines)?;
    Ok(CosLowResult {
        coslow,
        cosines,
        pairs: k * (k - 1) / 2,
        examples: k,
        losses,
        reduction,
        sketch_sd: reduction.and_then(|r| r.cosine_sd(coslow)),
        gram,
        answer_tokens,
        parts,
        cut: vec![None; k],
        skipped: vec![None; k],
    })
}
