//! The messages between labelcast's page and its model worker.
//!
//! Both sides convert these with serde-wasm-bindgen. A model file does not travel inside a
//! message: the page posts the `Blob`s (`File`s from disk, or the downloaded model) next to
//! the message, so the browser hands over references instead of copying ~100 MB through
//! serde. Every job carries the page's `job` number, and replies for an older job than the
//! one the page waits for are ignored.

pub use labelcast_core::backend::{BackendChoice, BackendKind};
pub use labelcast_core::example::{Example, Prompt};
pub use labelcast_core::method::{LongRows, Part};
pub use labelcast_core::scores::Scores;
use serde::{Deserialize, Serialize};

/// Page → worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// Load a model from the Blobs posted with this message (`blobs`, in the order `files`
    /// gives). `name` is used in messages; `backend` is the page's choice (absent: auto).
    Load {
        name: String,
        #[serde(default)]
        backend: BackendChoice,
        #[serde(default)]
        files: ModelFiles,
    },
    /// Score prompts (METHOD.md 1b, 2): greedy generation and per-token statistics.
    /// `long_prompts`: what to do with a prompt longer than the model's context.
    Score {
        job: u32,
        prompts: Vec<PromptIn>,
        chat_template: bool,
        max_new_tokens: usize,
        batch_size: usize,
        #[serde(default)]
        long_prompts: LongRows,
        /// Only this share of the batches (the page splits a run between its workers); the
        /// reply is then `ScoresPart`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        part: Option<Part>,
    },
    /// CoS-Low of labeled examples (METHOD.md 1d). `long_examples`: what to do with an example
    /// longer than the model's context.
    CosLow {
        job: u32,
        examples: Vec<ExampleIn>,
        chat_template: bool,
        rank: usize,
        alpha: f64,
        seed: u64,
        #[serde(default)]
        long_examples: LongRows,
        /// This worker's share when the page splits the run between its workers.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        share: Option<Share>,
    },
    /// A row another worker computed for the `Share::Keep` run `job`: example `index`'s kept
    /// gradient, posted beside the message as a Float32Array under `row` (transferred, not
    /// copied), and its loss.
    GradRow { job: u32, index: usize, loss: f64 },
    /// No more rows will come for run `job`: the worker that keeps them computes whatever is
    /// still missing (the packs of a worker that failed) and answers `CosLow`.
    GradsSent { job: u32 },
    /// Stop job `job` (and any older one) before its next item; the worker answers `Cancelled`
    /// and keeps its model. Sent while the job runs, so the worker must yield to see it.
    Cancel { job: u32 },
}

/// A worker's share of a CoS-Low run split between the page's workers. Each computes the
/// gradients of its `Part` of the run's packs (the packs a whole run makes, so the result is
/// that run's); only one worker keeps every row and computes the Gram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "role", rename_all = "snake_case")]
pub enum Share {
    /// Compute `part`, take the others' rows (`Request::GradRow`) until `Request::GradsSent`,
    /// and answer `Reply::CosLow` with the whole result.
    Keep { part: Part },
    /// Compute `part`, post each row as soon as its pack is done (`Reply::GradRow`), then
    /// `Reply::GradsSent`.
    Send { part: Part },
}

/// What the Blobs of a `Load` are, in their order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(tag = "format", rename_all = "snake_case")]
pub enum ModelFiles {
    /// One .gguf file (absent from older pages' messages, hence the default).
    #[default]
    Gguf,
    /// The safetensors shards named in `shards`, then config.json, tokenizer.json, then
    /// tokenizer_config.json when `tokenizer_config` is true and chat_template.jinja when
    /// `chat_template` is true: the files the CLI reads from a folder.
    Safetensors {
        shards: Vec<String>,
        tokenizer_config: bool,
        #[serde(default)]
        chat_template: bool,
    },
}

impl ModelFiles {
    /// How many Blobs come with a `Load` of these files.
    pub fn blob_count(&self) -> usize {
        match self {
            ModelFiles::Gguf => 1,
            ModelFiles::Safetensors { shards, tokenizer_config, chat_template } => {
                shards.len() + 2 + usize::from(*tokenizer_config) + usize::from(*chat_template)
            }
        }
    }
}

/// The model's name from config.json's `_name_or_path` ("HuggingFaceTB/SmolLM2-135M-Instruct"
/// when transformers saved a Hub model): kept as written for a Hub id, reduced to its last
/// part for a local path, whose folders say nothing about the model.
pub fn name_from_hf_path(path: &str) -> Option<String> {
    let path = path.trim().trim_end_matches(['/', '\\']);
    let local = path.starts_with(['/', '.', '~', '\\']) || path.contains(':') || path.split('/').count() > 2;
    let name = if local { path.rsplit(['/', '\\']).next().unwrap_or(path) } else { path };
    (!name.is_empty()).then(|| name.to_string())
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromptIn {
    #[serde(flatten)]
    pub prompt: Prompt,
    /// How the page names the row ("line 8 (id q-17)"), for the worker's errors about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExampleIn {
    #[serde(flatten)]
    pub example: Example,
    /// As `PromptIn::name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Worker → page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reply {
    /// The worker's wasm started; it accepts requests from now on.
    Ready {
        backend: BackendInfo,
    },
    /// A stage of loading the model (no byte counts: parsing is one synchronous step).
    Loading {
        stage: String,
    },
    Loaded {
        model: ModelInfo,
        seconds: f64,
    },
    /// The backend the loaded model runs on, and why (sent before `Loaded`): it replaces
    /// what `Ready` guessed, since the page's choice or a GPU failing at load can change it.
    Backend {
        backend: BackendInfo,
    },
    Progress {
        job: u32,
        stage: Stage,
        done: usize,
        total: usize,
    },
    Scores {
        job: u32,
        rows: Vec<ScoreRow>,
    },
    /// Scoring job `job` stopped on the page's `Cancel`: the rows it finished are `Some`.
    ScoresCancelled {
        job: u32,
        rows: Vec<Option<ScoreRow>>,
    },
    /// The rows of a `Score` with a `part`: `Some` for the part's prompts that were scored
    /// (and the skipped ones), `None` for the rest, and for those a `Cancel` left unscored.
    ScoresPart {
        job: u32,
        rows: Vec<Option<ScoreRow>>,
    },
    CosLow {
        job: u32,
        result: CosLowOut,
    },
    /// A row of a `Share::Send` run, as `Request::GradRow` carries it on (the Float32Array
    /// beside the reply's fields, under `row`).
    GradRow {
        job: u32,
        index: usize,
        loss: f64,
    },
    /// A `Share::Send` run has posted all its `rows`.
    GradsSent {
        job: u32,
        rows: usize,
    },
    /// Job `job` stopped on the page's `Cancel`; the model stays loaded.
    Cancelled {
        job: u32,
    },
    /// The worker's WebAssembly memory after a load or a job. It never shrinks, so it is also
    /// the peak so far (the engine's weights, caches and gradients all live in it).
    Memory {
        bytes: f64,
        /// The page's helper workers' memory together (each holds its own copy of the model):
        /// set by the page's pool, 0 from a worker.
        #[serde(default, skip_serializing_if = "is_zero")]
        helpers: f64,
    },
    /// `job` is None for a failed load or a malformed request.
    Failed {
        job: Option<u32>,
        message: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Scoring,
    Gradients,
}

/// Which backend computes, and what the browser offers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendInfo {
    pub backend: BackendKind,
    /// The WebGPU adapter the browser reports, if any.
    pub adapter: Option<AdapterInfo>,
    /// Why this backend was chosen, in words for the page.
    pub reason: String,
    /// How many workers score prompts at once: 1 from a worker itself; the page's pool of CPU
    /// workers sets its own count.
    #[serde(default = "one")]
    pub workers: u32,
}

fn one() -> u32 {
    1
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct AdapterInfo {
    pub vendor: String,
    pub architecture: String,
    pub device: String,
    pub description: String,
    /// WebGPU's `isFallbackAdapter`: the browser says this adapter is a software one.
    #[serde(default)]
    pub fallback: bool,
}

impl AdapterInfo {
    /// A CPU rasterizer (SwiftShader, lavapipe/llvmpipe): correct but slower than the CPU
    /// backend, so `auto` does not choose it. Browsers flag it with `isFallbackAdapter`;
    /// older ones only name it.
    pub fn is_software(&self) -> bool {
        let text = [&self.vendor, &self.architecture, &self.device, &self.description]
            .iter()
            .map(|s| s.to_ascii_lowercase())
            .collect::<Vec<_>>()
            .join(" ");
        self.fallback || ["swiftshader", "llvmpipe", "lavapipe", "software"].iter().any(|w| text.contains(w))
    }

    /// A one-line description; empty parts are left out.
    pub fn summary(&self) -> String {
        let parts: Vec<&str> = [&self.vendor, &self.architecture, &self.device, &self.description]
            .into_iter()
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .collect();
        if parts.is_empty() {
            "an adapter that does not describe itself".into()
        } else {
            parts.join(" · ")
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// The file name it was loaded from.
    pub file: String,
    /// `general.name` from the GGUF metadata, or the name in a safetensors model's
    /// config.json (`_name_or_path`), when present.
    pub name: Option<String>,
    /// "llama" or "qwen2".
    pub arch: String,
    pub layers: usize,
    pub hidden: usize,
    pub vocab: usize,
    pub context: usize,
    pub bytes: f64,
    /// SHA-256 of the model's bytes (as `labelcast calibrate-suite` records it), which picks
    /// the model's own calibration over one of another file of the same name.
    #[serde(default)]
    pub sha256: Option<String>,
}

/// One prompt's scores; a statistic with no counted token is None (as in the CLI's CSV).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct ScoreRow {
    /// Its fields stay at the row's top level, as the worker sent them and sessions saved them
    /// before they were one struct.
    #[serde(flatten)]
    pub stats: Scores,
    pub generated: String,
    pub embedding: Vec<f32>,
    /// (tokens, tokens kept) when the prompt was longer than the model's context and its
    /// text was cut to fit: the scores are of its beginning.
    #[serde(default)]
    pub cut: Option<(usize, usize)>,
    /// The prompt's token count when it was longer than the model's context and skipped
    /// (`LongRows::Skip`): the row has no scores.
    #[serde(default)]
    pub skipped: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CosLowOut {
    pub coslow: f64,
    pub cosines: Vec<Vec<f64>>,
    pub pairs: usize,
    pub examples: usize,
    pub losses: Vec<f64>,
    pub seconds: f64,
    /// K × K dot products of the examples' gradients, for the centered CoS-Low a proxy set may
    /// use. Absent from sessions saved (and workers built) before it was sent: then empty.
    #[serde(default)]
    pub gram: Vec<Vec<f64>>,
    /// Each example's counted answer tokens (what its loss averages over), for the
    /// answer-token feature; empty when absent, as `gram`.
    #[serde(default)]
    pub answer_tokens: Vec<usize>,
    /// Per example, (tokens, kept) when its prompt was cut to fit the context (the answer is
    /// never cut); empty from workers built before it was sent.
    #[serde(default)]
    pub cut: Vec<Option<(usize, usize)>>,
    /// Per example sent, its token count when it was longer than the context and left out
    /// (`LongRows::Skip`); the fields above are of the examples kept. Empty when none was.
    #[serde(default)]
    pub skipped: Vec<Option<usize>>,
    /// The standard deviation a count-sketch of the gradients adds to a cosine near CoS-Low;
    /// None when they were kept exactly.
    #[serde(default)]
    pub sketch_sd: Option<f64>,
    /// How many workers computed the gradients (the page's pool splits a run between them).
    #[serde(default = "one")]
    pub workers: u32,
}

#[cfg(test)]
mod tests;
