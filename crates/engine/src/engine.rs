//! The public, backend-independent API: prompts and examples in, scores and CoS-Low out.
//!
//! Tokenization and chat templates (labelcast-text) and all statistics are shared; only the
//! transformer math comes from the backend. The methods are async so the same API serves
//! the native CLI (blocking on them, e.g. with pollster) and the browser (wgpu read-backs
//! are async); there is no clock here, callers time what they need.

use labelcast_core::method::Part;
use labelcast_modelfile::ModelConfig;
use labelcast_text::{HfText, ModelText};

use labelcast_gpu::Gpu;

use crate::backend::{Backend, CpuBackend, GpuBackend};
use crate::coslow::{Alone, Exchange};
use crate::error::{EngineError, Result};
use crate::grad::{CosLowResult, LoraOptions, TokenExample};
use crate::infer::{self, Cut, LongRows, PromptScores, ScoreOptions};
use crate::model::{parse_gguf, parse_safetensors, Weights};
use crate::{Proceed, Progress};
pub use labelcast_core::example::{Example, Prompt};

/// A loaded model: its text side and a backend holding its weights.
#[derive(Debug)]
pub struct Engine<B: Backend = CpuBackend> {
    backend: B,
    text: ModelText,
}

impl Engine<CpuBackend> {
    /// A CPU engine over already-built weights.
    pub fn cpu(weights: Weights, text: ModelText) -> Result<Self> {
        Engine::new(CpuBackend::new(weights), text)
    }

    /// A CPU engine from a GGUF file's bytes: weights dequantized to f32, tokenizer and chat
    /// template from its metadata. `name` is used in error messages.
    pub fn from_gguf(name: &str, bytes: Vec<u8>) -> Result<Self> {
        let (file, text) = parse_gguf(name, bytes)?;
        Engine::cpu(Weights::from_model_file(&file)?, text)
    }

    /// A CPU engine from safetensors shards (name, bytes), config.json and the tokenizer files.
    pub fn from_safetensors(
        name: &str,
        shards: Vec<(String, Vec<u8>)>,
        config_json: &str,
        text: HfText<'_>,
    ) -> Result<Self> {
        let (file, text) = parse_safetensors(name, shards, config_json, text)?;
        Engine::cpu(Weights::from_model_file(&file)?, text)
    }
}

impl Engine<GpuBackend> {
    /// A GPU engine over already-built f32 weights (test models).
    pub fn gpu(gpu: Gpu, weights: &Weights, text: ModelText) -> Result<Self> {
        Engine::new(GpuBackend::from_weights(gpu, weights)?, text)
    }

    /// A GPU engine from a GGUF file's bytes: tensors uploaded as stored (quantized blocks
    /// stay quantized on the GPU), tokenizer and chat template from the metadata.
    pub fn from_gguf_gpu(gpu: Gpu, name: &str, bytes: Vec<u8>) -> Result<Self> {
        let (file, text) = parse_gguf(name, bytes)?;
        Engine::new(GpuBackend::from_model_file(gpu, &file)?, text)
    }

    /// A GPU engine from safetensors shards, config.json and the tokenizer files.
    pub fn from_safetensors_gpu(
        gpu: Gpu,
        name: &str,
        shards: Vec<(String, Vec<u8>)>,
        config_json: &str,
        text: HfText<'_>,
    ) -> Result<Self> {
        let (file, text) = parse_safetensors(name, shards, config_json, text)?;
        Engine::new(GpuBackend::from_model_file(gpu, &file)?, text)
    }
}

impl<B: Backend> Engine<B> {
    /// Checks that the tokenizer's ids fit the embedding.
    pub fn new(backend: B, text: ModelText) -> Result<Self> {
        let (tokenizer, embedding) = (text.tokenizer.vocab_size(), backend.config().vocab_size);
        if tokenizer > embedding {
            return Err(EngineError::VocabMismatch { tokenizer, embedding });
        }
        Ok(Engine { backend, text })
    }

    pub fn backend(&self) -> &B {
        &self.backend
    }

    pub fn text(&self) -> &ModelText {
        &self.text
    }

    pub fn config(&self) -> &ModelConfig {
        self.backend.config()
    }

    /// The prompt text the model sees: chat-rendered with the generation prompt, or as is.
    pub fn render(&self, system: Option<&str>, user: &str, chat_template: bool) -> Result<String> {
        Ok(if chat_template { self.text.render_prompt(system, user)? } else { user.to_string() })
    }

    /// Token ids of a prompt (no special tokens added: a chat template writes its own).
    pub fn encode_prompt(&self, p: &Prompt, chat_template: bool) -> Result<Vec<u32>> {
        Ok(self.text.tokenizer.encode(&self.render(p.system.as_deref(), &p.text, chat_template)?)?)
    }

    /// METHOD 1d's tokens: `encode(prompt + answer)` with the answer from `encode(prompt).len()`.
    pub fn encode_example(&self, ex: &Example, chat_template: bool) -> Result<TokenExample> {
        let prompt = self.render(ex.system.as_deref(), &ex.prompt, chat_template)?;
        let e = self.text.encode_example(&prompt, &ex.answer)?;
        Ok(TokenExample { ids: e.ids, n_prompt: e.n_prompt })
    }

    /// Greedy generation and confidence/uncertainty scores for every prompt (METHOD 1b, 2),
    /// in input order. A prompt longer than the context is cut, skipped or fails the job, as
    /// `opts.long_prompts` says. `progress` may stop the job between batches (see [`Proceed`]).
    pub async fn score<R: Proceed>(
        &self,
        prompts: &[Prompt],
        opts: &ScoreOptions,
        progress: impl FnMut(Progress) -> R,
    ) -> Result<Vec<PromptScores>> {
        infer::all_or_cancelled(self.score_partial(prompts, opts, progress).await?)
    }

    /// `score`, keeping what was finished when `progress` stops the job: the prompts of the
    /// batches done are `Some`, the rest `None`.
    pub async fn score_partial<R: Proceed>(
        &self,
        prompts: &[Prompt],
        opts: &ScoreOptions,
        mut progress: impl FnMut(Progress) -> R,
    ) -> Result<Vec<Option<PromptScores>>> {
        let fit = self.fit_context(
            prompts,
            opts.long_prompts,
            |p| self.encode_prompt(p, opts.chat_template),
            Vec::len,
            |row, p, tokens| self.cut_prompt(row, p, opts, tokens),
        )?;
        let run = self.score_tokens_partial(&fit.run, opts, &mut progress).await.map_err(|e| e.reindexed(&fit.ran))?;
        let mut run = run.into_iter();
        let scores = fit
            .skipped
            .into_iter()
            .zip(fit.cuts)
            .map(|(skip, cut)| match skip {
                Some(tokens) => Some(PromptScores::skipped(tokens)),
                None => run.next().flatten().map(|s| PromptScores { cut, ..s }),
            })
            .collect();
        Ok(scores)
    }

    /// Encodes every item and applies `policy` to those longer than the context: cut (by
    /// `cut`, given the item's index and token count), left out, or kept for the run to refuse
    /// with an error naming it. The one rule for prompts and labeled examples alike.
    fn fit_context<I, T>(
        &self,
        items: &[I],
        policy: LongRows,
        encode: impl Fn(&I) -> Result<T>,
        len: impl Fn(&T) -> usize,
        cut: impl Fn(usize, &I, usize) -> Result<T>,
    ) -> Result<Fitted<T>> {
        let ctx = self.config().max_position_embeddings;
        let mut fit = Fitted {
            run: Vec::with_capacity(items.len()),
            ran: Vec::with_capacity(items.len()),
            cuts: vec![None; items.len()],
            skipped: vec![None; items.len()],
        };
        for (row, item) in items.iter().enumerate() {
            let mut t = encode(item)?;
            let tokens = len(&t);
            if tokens > ctx {
                match policy {
                    LongRows::Cut => {
                        t = cut(row, item, tokens)?;
                        fit.cuts[row] = Some(Cut { tokens, kept: len(&t) });
                    }
                    LongRows::Skip => {
                        fit.skipped[row] = Some(tokens);
                        continue;
                    }
                    LongRows::Fail => {}
                }
            }
            fit.run.push(t);
            fit.ran.push(row);
        }
        Ok(fit)
    }

    /// The prompt's tokens with its text shortened from the end (at a character boundary) so
    /// that the rendered prompt leaves room for `max_new_tokens` in the context.
    fn cut_prompt(&self, row: usize, p: &Prompt, opts: &ScoreOptions, tokens: usize) -> Result<Vec<u32>> {
        let limit = self.config().max_position_embeddings.saturating_sub(opts.max_new_tokens).max(1);
        let (ctx, reserved) = (self.config().max_position_embeddings, opts.max_new_tokens);
        let fail = |len| EngineError::PromptCannotFit { row, len, ctx, reserved };
        self.shorten(&p.text, tokens, limit, fail, |text| {
            let ids =
                self.encode_prompt(&Prompt { system: p.system.clone(), text: text.to_string() }, opts.chat_template)?;
            Ok((ids.len(), ids))
        })
    }

    /// The example's tokens with its prompt's text shortened from the end so that prompt and
    /// whole answer fit the context (the answer is what the gradient learns: never cut).
    fn cut_example(&self, row: usize, ex: &Example, chat_template: bool, tokens: usize) -> Result<TokenExample> {
        let ctx = self.config().max_position_embeddings;
        let fail = |len| EngineError::ExampleCannotFit { example: row, len, ctx };
        self.shorten(&ex.prompt, tokens, ctx, fail, |text| {
            let e = self.encode_example(&Example { prompt: text.to_string(), ..ex.clone() }, chat_template)?;
            Ok((e.ids.len(), e))
        })
    }

    /// Shortens `text` from the end (at a character boundary) until `encode` gives at most
    /// `limit` tokens; `tokens` is the count of the whole text. Fails with `fail(tokens)` when
    /// even no text at all is too long (what surrounds it alone overflows).
    fn shorten<T>(
        &self,
        text: &str,
        tokens: usize,
        limit: usize,
        fail: impl Fn(usize) -> EngineError,
        encode: impl Fn(&str) -> Result<(usize, T)>,
    ) -> Result<T> {
        let (mut keep, mut len) = (text.len(), tokens);
        loop {
            if keep == 0 {
                return Err(fail(len));
            }
            // Proportional to the overshoot with 5% to spare, and always shorter than the last
            // try, so a few encodings suffice even for a cell of megabytes.
            let guess = (keep as f64 * limit as f64 / len as f64 * 0.95) as usize;
            keep = (0..=guess.min(keep - 1)).rev().find(|&i| text.is_char_boundary(i)).unwrap_or(0);
            let (n, out) = encode(&text[..keep])?;
            len = n;
            if len <= limit {
                return Ok(out);
            }
        }
    }

    /// `score` of already tokenized prompts (`opts.chat_template` is not applied).
    pub async fn score_tokens<R: Proceed>(
        &self,
        ids: &[Vec<u32>],
        opts: &ScoreOptions,
        progress: &mut dyn FnMut(Progress) -> R,
    ) -> Result<Vec<PromptScores>> {
        infer::all_or_cancelled(self.score_tokens_partial(ids, opts, progress).await?)
    }

    async fn score_tokens_partial<R: Proceed>(
        &self,
        ids: &[Vec<u32>],
        opts: &ScoreOptions,
        progress: &mut dyn FnMut(Progress) -> R,
    ) -> Result<Vec<Option<PromptScores>>> {
        let sp = &self.text.special;
        let gens = infer::generate_partial(&self.backend, ids, &sp.stop_ids, opts, progress).await?;
        gens.into_iter()
            .zip(ids)
            .map(|(g, p)| {
                let Some(g) = g else { return Ok(None) };
                let mut s = PromptScores::from_generation(g, p.len(), &sp.exclusion_ids);
                s.generated_text = self.text.tokenizer.decode_skip_special(&s.generated_ids)?;
                Ok(Some(s))
            })
            .collect()
    }

    /// CoS-Low of labeled examples (METHOD 1d): the median pairwise cosine of per-example
    /// LoRA-B gradients (or full projection gradients with `GradVariant::Exact`). `progress`
    /// may stop the job between packs of examples.
    pub async fn coslow<R: Proceed>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        progress: impl FnMut(Progress) -> R,
    ) -> Result<CosLowResult> {
        self.coslow_keep(examples, opts, Part::WHOLE, &mut Alone, progress).await
    }

    /// The share of a CoS-Low run split between workers that keeps every row and gives the
    /// result (`crate::coslow::coslow_keep`); with `Part::WHOLE` and `Alone`, `coslow`.
    pub async fn coslow_keep<R: Proceed, X: Exchange>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        part: Part,
        exchange: &mut X,
        mut progress: impl FnMut(Progress) -> R,
    ) -> Result<CosLowResult> {
        let run = async |run: &[TokenExample], excluded: &[u32]| {
            crate::coslow::coslow_keep(&self.backend, run, excluded, opts, part, exchange, &mut progress).await
        };
        let (mut result, fit) = self.on_fitted(examples, opts, run).await?;
        result.cut = fit.cuts;
        result.skipped = fit.skipped;
        Ok(result)
    }

    /// A share of a CoS-Low run split between workers that hands its rows on
    /// (`crate::coslow::coslow_send`); returns how many it sent.
    pub async fn coslow_send<R: Proceed, X: Exchange>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        part: Part,
        exchange: &mut X,
        mut progress: impl FnMut(Progress) -> R,
    ) -> Result<usize> {
        let run = async |run: &[TokenExample], excluded: &[u32]| {
            crate::coslow::coslow_send(&self.backend, run, excluded, opts, part, exchange, &mut progress).await
        };
        Ok(self.on_fitted(examples, opts, run).await?.0)
    }

    /// `run` on the examples fitted to the context (`fit_examples`) with the exclusion ids; its
    /// errors name the caller's examples.
    async fn on_fitted<T>(
        &self,
        examples: &[Example],
        opts: &LoraOptions,
        run: impl AsyncFnOnce(&[TokenExample], &[u32]) -> Result<T>,
    ) -> Result<(T, Fitted<TokenExample>)> {
        let fit = self.fit_examples(examples, opts)?;
        let out = run(&fit.run, &self.text.special.exclusion_ids).await.map_err(|e| e.reindexed(&fit.ran))?;
        Ok((out, fit))
    }

    /// The examples fitted to the context as `opts.long_examples` says (every worker of a
    /// split run fits them alike, so their indices agree).
    fn fit_examples(&self, examples: &[Example], opts: &LoraOptions) -> Result<Fitted<TokenExample>> {
        let fit = self.fit_context(
            examples,
            opts.long_examples,
            |e| self.encode_example(e, opts.chat_template),
            |t: &TokenExample| t.ids.len(),
            |row, e, tokens| self.cut_example(row, e, opts.chat_template, tokens),
        )?;
        let left = fit.skipped.iter().flatten().count();
        if left > 0 && fit.run.len() < 2 {
            return Err(EngineError::Invalid(format!(
                "CoS-Low needs at least 2 examples, and {left} of the {} are longer than the model's \
                 context of {} tokens and were left out (cut them to fit instead of skipping them)",
                examples.len(),
                self.config().max_position_embeddings
            )));
        }
        Ok(fit)
    }

    /// CoS-Low of already tokenized examples.
    pub async fn coslow_tokens<R: Proceed>(
        &self,
        examples: &[TokenExample],
        opts: &LoraOptions,
        progress: &mut dyn FnMut(Progress) -> R,
    ) -> Result<CosLowResult> {
        crate::coslow::coslow(&self.backend, examples, &self.text.special.exclusion_ids, opts, progress).await
    }
}

/// Items fitted to the context (`Engine::fit_context`).
struct Fitted<T> {
    /// The tokens of the items that run, in order.
    run: Vec<T>,
    /// The caller's index of each item in `run` (errors of the run name the caller's item).
    ran: Vec<usize>,
    /// Per item given: cut to fit (token counts before and after), or left out (its tokens).
    cuts: Vec<Option<Cut>>,
    skipped: Vec<Option<usize>>,
}
