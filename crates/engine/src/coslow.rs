//! CoS-Low on any backend (METHOD 1d): the LoRA A matrices, per-example gradients in packs
//! kept by the backend's store, their Gram, the cosines and their median. Above both `grad`
//! (backend-independent pieces) and `backend` (the math), so neither imports the other.
//!
//! A run can be split between workers (the page's pool): each computes the packs of its
//! `Part` (packs i, i + n, … of `Backend::grad_packs`, the very packs a whole run makes), the
//! others hand their kept rows to the one that keeps them all, and that one computes the Gram.
//! Every row is the one a whole run keeps, so the result is the whole run's, bit for bit.

use labelcast_core::method::Part;
use labelcast_core::suite::CoslowParts;

use crate::backend::Backend;
use crate::error::{EngineError, Result};
use crate::grad::{
    check_exact_budget, cosines_from_gram, counted_positions, lora_grad_len, part_segments, skip_answer_tokens,
    AdapterInit, CosLowResult, ExactStore, GradVariant, LoraA, LoraOptions, Reduction, TokenExample, PART_GROUPS,
};
use crate::{report, Proceed, Progress};

/// One example's kept gradient (exact or sketched, as the run's `Reduction` keeps it) and its
/// loss, as the workers of a split run hand it on.
#[derive(Debug, Clone, PartialEq)]
pub struct KeptRow {
    pub index: usize,
    pub loss: f64,
    pub values: Vec<f32>,
}

/// How the workers of a split run pass their kept rows on.
#[allow(async_fn_in_trait)] // single-threaded on wasm, like `Backend`
pub trait Exchange {
    /// Hands on a row this worker computed.
    async fn send(&mut self, row: KeptRow) -> Result<()>;
    /// A row another worker computed: one that has already come, or with `wait` the next to
    /// come. None when none has come, or (with `wait`) when no more will.
    async fn receive(&mut self, wait: bool) -> Result<Option<KeptRow>>;
}

/// A run not split: nothing comes in, and nothing may go out.
pub struct Alone;

impl Exchange for Alone {
    async fn send(&mut self, _row: KeptRow) -> Result<()> {
        Err(EngineError::Invalid("a CoS-Low run that is not split has no one to send its rows to".into()))
    }

    async fn receive(&mut self, _wait: bool) -> Result<Option<KeptRow>> {
        Ok(None)
    }
}

/// CoS-Low of tokenized examples on any backend. `progress` is asked before every pack
/// whether to go on (`EngineError::Cancelled` if not).
pub async fn coslow<B: Backend, R: Proceed>(
    backend: &B,
    examples: &[TokenExample],
    excluded: &[u32],
    opts: &LoraOptions,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<CosLowResult> {
    coslow_keep(backend, examples, excluded, opts, Part::WHOLE, &mut Alone, progress).await
}

/// The LoRA A matrices on the backend, the full gradient's length and how each is kept.
struct LoraSetup<A> {
    adapters: A,
    rank: usize,
    len: usize,
    reduction: Reduction,
}

async fn lora_setup<B: Backend>(backend: &B, k: usize, opts: &LoraOptions) -> Result<LoraSetup<B::Adapters>> {
    let c = backend.config();
    let a = match &opts.init {
        AdapterInit::Seeded(seed) => LoraA::seeded(c, opts.rank, opts.alpha, *seed)?,
        AdapterInit::Safetensors(bytes) => LoraA::from_safetensors(c, bytes, opts.alpha)?,
    };
    let len = lora_grad_len(c, a.rank);
    let reduction = Reduction::for_budget(len, opts.per_example_budget(k), opts.sketch_seed);
    Ok(LoraSetup { adapters: backend.load_adapters(&a).await?, rank: a.rank, len, reduction })
}

/// The examples the gradients see: at least 2, with `skip_answer_tokens` applied (and a
/// part that exists; only the LoRA variant splits).
fn prepared(examples: &[TokenExample], opts: &LoraOptions, part: Part) -> Result<Vec<TokenExample>> {
    if !part.exists() {
        return Err(EngineError::part_missing(part));
    }
    if part != Part::WHOLE && opts.variant != GradVariant::Lora {
        return Err(EngineError::Invalid("the exact variant of CoS-Low cannot be split between workers".into()));
    }
    let k = examples.len();
    if k < 2 {
        return Err(EngineError::Invalid(format!("CoS-Low needs at least 2 examples, got {k}")));
    }
    Ok(if opts.skip_answer_tokens > 0 {
        skip_answer_tokens(examples, opts.skip_answer_tokens)
    } else {
        examples.to_vec()
    })
}

/// The share of a split run that keeps every row: computes the packs of `part`, takes the
/// rows the others send (between its own packs, then until no more come), computes any pack
/// whose rows did not all come (a worker that failed), and then the whole result. With
/// `Part::WHOLE` and `Alone`, a whole run.
pub async fn coslow_keep<B: Backend, R: Proceed, X: Exchange>(
    backend: &B,
    examples: &[TokenExample],
    excluded: &[u32],
    opts: &LoraOptions,
    part: Part,
    exchange: &mut X,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<CosLowResult> {
    let examples = &prepared(examples, opts, part)?[..];
    let k = examples.len();
    let answer_tokens = examples.iter().map(|e| counted_positions(e, excluded).len()).collect();
    let c = backend.config().clone();
    let mut parts = None;
    let (gram, reduction, losses) = match opts.variant {
        GradVariant::Lora => {
            let LoraSetup { adapters, rank, len, reduction } = lora_setup(backend, k, opts).await?;
            let mut store = backend.grad_store(len, k, reduction).await?;
            let mut losses: Vec<Option<f64>> = vec![None; k];
            let done = |l: &[Option<f64>]| Progress::Gradients { done: l.iter().flatten().count(), total: k };
            let packs = backend.grad_packs(examples, opts);
            // Computes pack `r` into the store and its losses.
            let run_pack = async |r: &std::ops::Range<usize>, store: &mut B::GradStore, losses: &mut [Option<f64>]| {
                let pack = backend
                    .lora_gradients(r.start, &examples[r.clone()], excluded, opts.pack_bytes, &adapters, store)
                    .await?;
                losses[r.clone()].iter_mut().zip(pack).for_each(|(l, v)| *l = Some(v));
                Ok::<(), EngineError>(())
            };
            // A run of one part has no one to wait for.
            let split = part.count > 1;
            for r in part.batches(&packs) {
                while let Some(row) = receive(exchange, split, false).await? {
                    take(backend, &mut store, &mut losses, row, reduction.width(len)).await?;
                }
                report(progress, done(&losses)).await?;
                run_pack(r, &mut store, &mut losses).await?;
            }
            while let Some(row) = receive(exchange, split, true).await? {
                take(backend, &mut store, &mut losses, row, reduction.width(len)).await?;
                report(progress, done(&losses)).await?;
            }
            for r in &packs {
                if losses[r.clone()].iter().all(Option::is_some) {
                    continue;
                }
                // Rows of a partly sent pack are computed again with the rest: a sketch adds into them.
                let zeros = vec![0.0; reduction.width(len)];
                for ex in r.clone().filter(|&ex| losses[ex].take().is_some()) {
                    backend.put_kept_row(&mut store, ex, &zeros).await?;
                }
                report(progress, done(&losses)).await?;
                run_pack(r, &mut store, &mut losses).await?;
            }
            report(progress, Progress::Gradients { done: k, total: k }).await?;
            if opts.parts && reduction == Reduction::Exact {
                let segments = part_segments(&c, rank);
                if let Some(g) = backend.gram_groups(&store, &segments, PART_GROUPS).await? {
                    parts = Some(CoslowParts::from_group_grams(&g)?);
                }
            }
            (backend.gram(&store).await?, Some(reduction), losses.into_iter().flatten().collect())
        }
        GradVariant::Exact => {
            check_exact_budget(&c, examples, opts.exact_method, opts.budget)?;
            let mut store = ExactStore::new(c.num_layers);
            let mut losses = Vec::with_capacity(k);
            for r in backend.grad_packs(examples, opts) {
                report(progress, Progress::Gradients { done: r.start, total: k }).await?;
                losses.extend(
                    backend.exact_factors(r.start, &examples[r.clone()], excluded, opts.pack_bytes, &mut store).await?,
                );
            }
            report(progress, Progress::Gradients { done: k, total: k }).await?;
            (store.gram(opts.exact_method)?, None, losses)
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

/// `exchange.receive(wait)` where the run is `split`; nothing where it is not (no one sends).
async fn receive<X: Exchange>(exchange: &mut X, split: bool, wait: bool) -> Result<Option<KeptRow>> {
    if split {
        exchange.receive(wait).await
    } else {
        Ok(None)
    }
}

/// Keeps a row another worker sent. One that does not fit (that worker kept its rows another
/// way, or the row is already here) is left out, and its pack computed here.
async fn take<B: Backend>(
    backend: &B,
    store: &mut B::GradStore,
    losses: &mut [Option<f64>],
    row: KeptRow,
    width: usize,
) -> Result<()> {
    if losses.get(row.index).is_some_and(Option::is_none) && row.values.len() == width {
        backend.put_kept_row(store, row.index, &row.values).await?;
        losses[row.index] = Some(row.loss);
    }
    Ok(())
}

/// A share of a split run that hands each row on as soon as its pack is computed (so this
/// worker holds one pack's rows at a time). Returns how many rows it sent.
pub async fn coslow_send<B: Backend, R: Proceed, X: Exchange>(
    backend: &B,
    examples: &[TokenExample],
    excluded: &[u32],
    opts: &LoraOptions,
    part: Part,
    exchange: &mut X,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<usize> {
    let examples = &prepared(examples, opts, part)?[..];
    let LoraSetup { adapters, len, reduction, .. } = lora_setup(backend, examples.len(), opts).await?;
    let packs = backend.grad_packs(examples, opts);
    let mine: Vec<_> = part.batches(packs).collect();
    let total = mine.iter().map(|r| r.len()).sum();
    let mut sent = 0;
    for r in mine {
        report(progress, Progress::Gradients { done: sent, total }).await?;
        let mut store = backend.grad_store(len, r.len(), reduction).await?;
        let losses = backend
            .lora_gradients(0, &examples[r.clone()], excluded, opts.pack_bytes, &adapters, &mut store)
            .await
            .map_err(|e| e.reindexed(&r.clone().collect::<Vec<_>>()))?;
        for (j, loss) in losses.into_iter().enumerate() {
            let values = backend.kept_row(&store, j).await?;
            exchange.send(KeptRow { index: r.start + j, loss, values }).await?;
            sent += 1;
        }
    }
    report(progress, Progress::Gradients { done: sent, total }).await?;
    Ok(sent)
}
