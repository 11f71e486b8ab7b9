//! Greedy generation and the per-prompt statistics of METHOD 1b and 2.

use labelcast_core::scores::Scores;

use crate::backend::{Backend, StepStats};
use crate::error::{EngineError, Result};
use crate::{report, Proceed, Progress};

pub use labelcast_core::method::MAX_NEW_TOKENS as DEFAULT_MAX_NEW_TOKENS;
pub use labelcast_core::method::SCORE_BATCH as DEFAULT_BATCH_SIZE;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScoreOptions {
    /// Greedy tokens generated at most per prompt (METHOD 1b: 30).
    pub max_new_tokens: usize,
    /// Prompts run together; prompts are grouped by length so padding stays small.
    pub batch_size: usize,
    /// Wrap each prompt in the model's chat template (with the generation prompt).
    pub chat_template: bool,
    /// What to do with a prompt longer than the model's context.
    pub long_prompts: LongRows,
    /// Which share of the batches to run (all by default): the page's workers each run one.
    pub part: Part,
}

/// Which share of a run's batches to score (all by default).
pub use labelcast_core::method::Part;

/// What to do with a prompt longer than the model's context: cut its text (the default: the
/// row is still scored, on its beginning, and its [`PromptScores::cut`] says so), skip it
/// ([`PromptScores::skipped`]) or fail the job naming it.
pub use labelcast_core::method::LongRows;

/// A prompt whose text was cut to fit the context: its token count before and after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cut {
    pub tokens: usize,
    pub kept: usize,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        ScoreOptions {
            max_new_tokens: DEFAULT_MAX_NEW_TOKENS,
            batch_size: DEFAULT_BATCH_SIZE,
            chat_template: true,
            long_prompts: LongRows::Cut,
            part: Part::WHOLE,
        }
    }
}

/// One prompt's greedy continuation: the statistics of every generated token (the stop
/// token included when one was produced) and the prompt embedding.
#[derive(Debug, Clone, PartialEq)]
pub struct Generation {
    pub steps: Vec<StepStats>,
    pub embedding: Vec<f32>,
}

/// The scores of one prompt, and what it generated.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PromptScores {
    /// Over the counted generated tokens; `None` where none was counted.
    pub stats: Scores,
    pub generated_ids: Vec<u32>,
    pub generated_text: String,
    pub prompt_tokens: usize,
    /// Generated tokens not in the exclusion list: the ones every statistic averages over.
    pub counted_tokens: usize,
    /// Mean of the last hidden state (after the final norm) over the prompt's positions.
    pub embedding: Vec<f32>,
    /// Set when the prompt was longer than the context and its text was cut to fit.
    pub cut: Option<Cut>,
    /// Set (to the prompt's token count) when the prompt was longer than the context and
    /// left out ([`LongRows::Skip`]): it has no statistics, no generation and no embedding.
    pub skipped: Option<usize>,
}

impl PromptScores {
    /// The statistics of a generation; tokens in `excluded` (end-of-text, end-of-turn,
    /// newline) are left out of every statistic, as METHOD 1b does for the confidence.
    pub fn from_generation(g: Generation, prompt_tokens: usize, excluded: &[u32]) -> Self {
        let counted: Vec<&StepStats> = g.steps.iter().filter(|s| !excluded.contains(&s.token)).collect();
        PromptScores {
            stats: Scores::of_tokens(&counted),
            generated_ids: g.steps.iter().map(|s| s.token).collect(),
            generated_text: String::new(),
            prompt_tokens,
            counted_tokens: counted.len(),
            embedding: g.embedding,
            cut: None,
            skipped: None,
        }
    }

    /// A prompt of `tokens` tokens left out for being longer than the context.
    pub fn skipped(tokens: usize) -> Self {
        PromptScores { prompt_tokens: tokens, skipped: Some(tokens), ..PromptScores::default() }
    }
}

/// Greedy generation for every prompt (token ids), batched by length, results in input
/// order. A row stops at a token in `stop`, after `max_new_tokens`, or at the context end.
/// `progress` is asked after every batch, and between two decode steps, whether to go on
/// (`EngineError::Cancelled` if not).
pub async fn generate<B: Backend, R: Proceed>(
    backend: &B,
    prompts: &[Vec<u32>],
    stop: &[u32],
    opts: &ScoreOptions,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<Vec<Generation>> {
    all_or_cancelled(generate_partial(backend, prompts, stop, opts, progress).await?)
}

/// Every item of a partial run, or `Cancelled` when one was not finished.
pub fn all_or_cancelled<T>(items: Vec<Option<T>>) -> Result<Vec<T>> {
    items.into_iter().collect::<Option<Vec<_>>>().ok_or(EngineError::Cancelled)
}

/// `generate`, keeping what was finished when `progress` stops the job: the rows of the
/// batches done, and the rows of the batch in progress that had finished, are `Some`, the rest
/// `None` (all `Some` when it ran to the end). Only the batches of `opts.part` run; the rows of
/// the others are `None`, and progress counts the part's prompts.
pub async fn generate_partial<B: Backend, R: Proceed>(
    backend: &B,
    prompts: &[Vec<u32>],
    stop: &[u32],
    opts: &ScoreOptions,
    progress: &mut dyn FnMut(Progress) -> R,
) -> Result<Vec<Option<Generation>>> {
    let ctx = backend.config().max_position_embeddings;
    for (row, p) in prompts.iter().enumerate() {
        if p.is_empty() {
            return Err(EngineError::Invalid(format!("row {}: the prompt has no tokens", row + 1)));
        }
        if p.len() > ctx {
            return Err(EngineError::SequenceTooLong { row, len: p.len(), max: ctx });
        }
    }
    let part = opts.part;
    if !part.exists() {
        return Err(EngineError::part_missing(part));
    }
    let mut order: Vec<usize> = (0..prompts.len()).collect();
    order.sort_by_key(|&i| prompts[i].len());
    let batches: Vec<&[usize]> = part.batches(order.chunks(opts.batch_size.max(1))).collect();
    let mut out: Vec<Option<Generation>> = vec![None; prompts.len()];
    let total = batches.iter().map(|b| b.len()).sum();
    let go_on = |r: Result<()>| match r {
        Err(EngineError::Cancelled) => Ok(false),
        r => r.map(|()| true),
    };
    if !go_on(report(progress, Progress::Scoring { done: 0, total }).await)? {
        return Ok(out);
    }
    let mut done = 0;
    for batch in batches {
        let rows: Vec<Vec<u32>> = batch.iter().map(|&i| prompts[i].clone()).collect();
        let at = (done, total);
        let (gens, stopped) = generate_batch(backend, &rows, stop, opts.max_new_tokens, ctx, progress, at).await?;
        for (&i, g) in batch.iter().zip(gens) {
            out[i] = g;
        }
        if stopped {
            break;
        }
        done += batch.len();
        if !go_on(report(progress, Progress::Scoring { done, total }).await)? {
            break;
        }
    }
    Ok(out)
}

/// One batch's generations. Between two decode steps `progress` hears the prompts done (`at`:
/// done before this batch, and the run's total) plus this batch's rows that have finished
/// (reached a stop token or their length), so a large batch on a slow CPU still moves the bar
/// and can be stopped: then the rows already finished are kept (`Some`: a row's generation no
/// longer changes once it has stopped) and `true` says the job was stopped.
async fn generate_batch<B: Backend, R: Proceed>(
    backend: &B,
    rows: &[Vec<u32>],
    stop: &[u32],
    max_new: usize,
    ctx: usize,
    progress: &mut dyn FnMut(Progress) -> R,
    (done, total): (usize, usize),
) -> Result<(Vec<Option<Generation>>, bool)> {
    let (mut cache, prefill) = backend.prefill(rows).await?;
    let mut steps: Vec<Vec<StepStats>> = vec![Vec::new(); rows.len()];
    let mut active: Vec<usize> = (0..rows.len()).collect();
    let mut next = prefill.stats;
    let mut stopped = false;
    // With no new token wanted, only the prompt embeddings are of use.
    if max_new > 0 {
        loop {
            for (&r, s) in active.iter().zip(&next) {
                steps[r].push(*s);
            }
            let keep: Vec<usize> = (0..active.len())
                .filter(|&i| {
                    let r = active[i];
                    let n = steps[r].len();
                    !stop.contains(&steps[r][n - 1].token) && n < max_new && rows[r].len() + n < ctx
                })
                .collect();
            if keep.is_empty() {
                break;
            }
            if keep.len() < active.len() {
                backend.retain(&mut cache, &keep).await?;
                active = keep.iter().map(|&i| active[i]).collect();
            }
            match report(progress, Progress::Scoring { done: done + rows.len() - active.len(), total }).await {
                Err(EngineError::Cancelled) => {
                    stopped = true;
                    break;
                }
                r => r?,
            }
            let tokens: Vec<u32> = active.iter().map(|&r| steps[r].last().expect("one step").token).collect();
            next = backend.decode(&mut cache, &tokens).await?;
        }
    }
    let gens = steps.into_iter().zip(prefill.embeddings).enumerate().map(|(r, (steps, embedding))| {
        // Stopped, the rows still running are unfinished.
        (!(stopped && active.contains(&r))).then_some(Generation { steps, embedding })
    });
    Ok((gens.collect(), stopped))
}
