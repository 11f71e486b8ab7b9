//! The one error type of labelcast-text.

pub type Result<T, E = TextError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum TextError {
    /// The tokenizer failed to load, build or run (the message is the tokenizers crate's).
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A chat template failed to compile or render, or called `raise_exception(msg)`; for the
    /// latter the string is exactly `msg`, so the UI can show the template author's words.
    #[error("chat template: {0}")]
    Template(String),
    /// A chat template broke one of the limits of `template_limits` (source size, fuel,
    /// recursion, output size); the message names the template and the limit.
    #[error("chat template refused: {0}")]
    TemplateLimit(String),
    #[error("the model has no tokenizer: {0}")]
    MissingTokenizer(String),
    /// The model has no chat template (not in the GGUF, chat_template.jinja or
    /// tokenizer_config.json).
    #[error("the model has no chat template: {0}")]
    MissingChatTemplate(String),
    /// A metadata key holds a value of the wrong type or an inconsistent value.
    #[error("tokenizer metadata `{key}`: {problem}")]
    Metadata { key: String, problem: String },
    /// A tokenizer kind labelcast does not build (yet); the message says what to do instead.
    #[error("unsupported tokenizer: {0}")]
    Unsupported(String),
}

impl TextError {
    pub(crate) fn metadata(key: &str, problem: impl Into<String>) -> Self {
        TextError::Metadata { key: key.to_string(), problem: problem.into() }
    }
}
