//! The paper's constants (METHOD.md 1b–1e), written once: the engine's defaults, the CLI's
//! flags, the page and the calibration suite all read them from here.

/// Greedy tokens generated at most per prompt when scoring confidence (1b).
pub const MAX_NEW_TOKENS: usize = 30;

/// Prompts scored together, grouped by length (not the paper's: its code scored one at a
/// time; the scores depend on it only through float rounding). The CLI's default and the
/// page's: on one CPU thread 32 prompts take about half the time of 8 (docs/benchmarks/browser.md).
pub const SCORE_BATCH: usize = 32;

/// Share `index` of `count` of a scoring run: its batches number `index`, `index + count`,
/// `index + 2 count`… in the run's own order (prompts sorted by length, cut into batches).
/// The batches are those of the whole run, so every row is computed exactly as a run of all
/// of them computes it, and the parts of `count` workers together are that run (the page's
/// workers each run one; the engine's `ScoreOptions::part`, the protocol's `Request::Score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Part {
    pub index: usize,
    pub count: usize,
}

impl Part {
    pub const WHOLE: Part = Part { index: 0, count: 1 };

    /// Whether this is one of `count` parts (index below count): `has_batch` needs one.
    pub fn exists(self) -> bool {
        self.index < self.count
    }

    /// Whether batch number `batch` of the run is this part's (`count` must not be 0).
    pub fn has_batch(self, batch: usize) -> bool {
        batch % self.count == self.index
    }

    /// This part's batches of the run's `batches`, in order.
    pub fn batches<T>(self, batches: impl IntoIterator<Item = T>) -> impl Iterator<Item = T> {
        batches.into_iter().enumerate().filter(move |(b, _)| self.has_batch(*b)).map(|(_, x)| x)
    }
}

impl Default for Part {
    fn default() -> Self {
        Part::WHOLE
    }
}

/// Low-confidence examples the person labels and CoS-Low compares (1c).
pub const EXAMPLES: usize = 32;

/// The share of the pool, lowest confidence first, the examples are drawn from (1c).
pub use crate::select::DECILE_FRACTION;

/// LoRA rank and alpha of the adapters whose B gradients CoS-Low compares (1d).
pub const LORA_RANK: usize = 64;
pub const LORA_ALPHA: f64 = 32.0;

/// The largest budget of the data-efficiency curve (1a, 1e).
pub use crate::forecast::DEFAULT_MAX_BUDGET as MAX_BUDGET;

/// What scoring and CoS-Low do with a row longer than the model's context. Not the paper's
/// (its prompts fit), so the default keeps every row: the row's text is cut from the end (an
/// answer never is) and the results say which rows were cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LongRows {
    /// Cut the prompt's text from the end until it fits; the row is scored on its beginning.
    #[default]
    Cut,
    /// Leave the row out: it gets no scores (so it is never picked by confidence) and no
    /// gradient (CoS-Low compares the others).
    Skip,
    /// Stop the job, naming the row.
    Fail,
}

impl LongRows {
    pub const ALL: [LongRows; 3] = [LongRows::Cut, LongRows::Skip, LongRows::Fail];

    /// The words the CLI and the page use for it (also its serialized form).
    pub fn name(self) -> &'static str {
        match self {
            LongRows::Cut => "cut",
            LongRows::Skip => "skip",
            LongRows::Fail => "fail",
        }
    }
}

impl std::fmt::Display for LongRows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
