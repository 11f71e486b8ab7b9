//! The one error type of labelcast-text.

pub type Result<T, E = TextError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    #[error("chat template: {0}")]
    Template(String),
    #[error("the model has no tokenizer: {0}")]
    MissingTokenizer(String),
}
