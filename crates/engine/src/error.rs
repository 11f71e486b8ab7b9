//! The one error type of labelcast-engine.

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    ModelFile(Box<labelcast_modelfile::ModelFileError>),
    #[error("tokenizer has {tokenizer} tokens but the embedding has {embedding} rows")]
    VocabMismatch { tokenizer: usize, embedding: usize },
    /// `row` is the 0-based index into the caller's list; the message counts from 1.
    #[error("row {}: sequence of {len} tokens is longer than the model's context of {max}", .row + 1)]
    SequenceTooLong { row: usize, len: usize, max: usize },
    /// A prompt that cannot be cut to fit: its system message and chat template alone take
    /// `len` tokens, more than the context less the tokens kept for the answer.
    #[error(
        "row {}: even with its text cut to nothing the prompt takes {len} tokens (system message and \
         chat template); the model's context is {ctx}, {reserved} of them kept for the answer",
        .row + 1
    )]
    PromptCannotFit { row: usize, len: usize, ctx: usize, reserved: usize },
    /// A labeled example that cannot be cut to fit: with its prompt's text cut to nothing,
    /// its system message, chat template and whole answer still take `len` tokens.
    #[error(
        "example {}: even with its prompt cut to nothing it takes {len} tokens (system message, chat \
         template and the whole answer), more than the model's context of {ctx}",
        .example + 1
    )]
    ExampleCannotFit { example: usize, len: usize, ctx: usize },
    /// `example` is the 0-based index; the message counts from 1.
    #[error("example {}: no answer token is scored (empty answer, or only excluded tokens)", .example + 1)]
    NoAnswerTokens { example: usize },
    /// A token id past the embedding's rows (a tokenizer that does not belong to the model).
    #[error("token id {id} is past the embedding's {rows} rows")]
    TokenOutOfRange { id: u32, rows: usize },
    #[error("{0}")]
    Invalid(String),
    /// The caller's progress callback asked to stop (`Flow::Stop`).
    #[error("cancelled")]
    Cancelled,
    #[error(transparent)]
    Text(#[from] labelcast_text::TextError),
    #[error("tensor computation: {0}")]
    Candle(Box<candle_core::Error>),
    #[error(transparent)]
    Core(Box<labelcast_core::Error>),
    #[error(transparent)]
    Gpu(Box<labelcast_gpu::GpuError>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_about_one_item_names_it_and_gives_its_detail_apart() {
        let e = EngineError::ExampleCannotFit { example: 2, len: 9000, ctx: 8192 };
        assert_eq!(e.item(), Some(2));
        assert!(e.to_string().starts_with("example 3: even with"), "{e}");
        assert!(e.detail().starts_with("even with its prompt cut to nothing it takes 9000 tokens"), "{}", e.detail());
        let e = EngineError::Invalid("x: y".into());
        assert_eq!((e.item(), e.detail()), (None, "x: y".to_string()));
    }

    #[test]
    fn an_error_about_a_run_item_names_the_callers_item() {
        let e = EngineError::NoAnswerTokens { example: 1 }.reindexed(&[0, 3, 4]);
        assert_eq!(e.item(), Some(3));
        assert_eq!(EngineError::Cancelled.reindexed(&[2]).item(), None);
    }
}

impl EngineError {
    /// The index, in the caller's list of prompts or examples, of the one item this error is
    /// about (a prompt too long, an example without answer tokens).
    pub fn item(&self) -> Option<usize> {
        match self {
            EngineError::SequenceTooLong { row, .. } | EngineError::PromptCannotFit { row, .. } => Some(*row),
            EngineError::ExampleCannotFit { example, .. } | EngineError::NoAnswerTokens { example } => Some(*example),
            _ => None,
        }
    }

    /// A share of a run split between workers that is not one (`Part::exists`).
    pub fn part_missing(part: labelcast_core::method::Part) -> Self {
        EngineError::Invalid(format!("part {} of {} does not exist", part.index + 1, part.count))
    }

    /// The error with its item's index looked up in `index` (the caller's index of each item
    /// that was run, when some were left out before running).
    pub fn reindexed(mut self, index: &[usize]) -> Self {
        let at = |i: &mut usize| *i = index.get(*i).copied().unwrap_or(*i);
        match &mut self {
            EngineError::SequenceTooLong { row, .. } | EngineError::PromptCannotFit { row, .. } => at(row),
            EngineError::ExampleCannotFit { example, .. } | EngineError::NoAnswerTokens { example } => at(example),
            _ => {}
        }
        self
    }

    /// The message without its "row N: " / "example N: " prefix, for callers that name the
    /// item the way their reader knows it (a file's line and id).
    pub fn detail(&self) -> String {
        let m = self.to_string();
        match (self.item(), m.split_once(": ")) {
            (Some(_), Some((_, what))) => what.to_string(),
            _ => m,
        }
    }
}

// The large source errors are boxed so every `Result` of the engine stays small.
macro_rules! boxed_from {
    ($($src:ty => $variant:ident),*) => {$(
        impl From<$src> for EngineError {
            fn from(e: $src) -> Self {
                EngineError::$variant(Box::new(e))
            }
        }
    )*};
}
boxed_from!(
    labelcast_modelfile::ModelFileError => ModelFile,
    candle_core::Error => Candle,
    labelcast_core::Error => Core,
    labelcast_gpu::GpuError => Gpu
);
