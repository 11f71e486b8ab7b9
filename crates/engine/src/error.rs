//! The one error type of labelcast-engine.

pub type Result<T, E = EngineError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    ModelFile(#[from] labelcast_modelfile::ModelFileError),
    #[error("tokenizer has {tokenizer} tokens but the embedding has {embedding} rows")]
    VocabMismatch { tokenizer: usize, embedding: usize },
    #[error("row {row}: sequence of {len} tokens is longer than the model's context of {max}")]
    SequenceTooLong { row: usize, len: usize, max: usize },
    #[error(transparent)]
    Text(#[from] labelcast_text::TextError),
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
    #[error(transparent)]
    Core(#[from] labelcast_core::Error),
}
