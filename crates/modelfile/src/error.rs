//! The one error type of labelcast-modelfile.
//!
//! Every variant that can come from a file names that file (the UI shows the message as it is,
//! and a user may have dropped several files).

pub type Result<T, E = ModelFileError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{file}: not a valid model file: {why}")]
    Corrupt { file: String, why: String },
    #[error("{file}: file ends early: {why}")]
    Truncated { file: String, why: String },
    /// Parsing a prefix of the file: the header goes on past it (read more and parse again).
    #[error("{file}: the header runs past the first {read} bytes read")]
    HeaderPastPrefix { file: String, read: u64 },
    #[error("{file}: could not be read: {why}")]
    Read { file: String, why: String },
    #[error("unsupported architecture \"{0}\" (supported: llama, mistral, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("tensor {name}: unsupported tensor type {dtype} (supported: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q4_K, Q5_K, Q6_K)")]
    UnsupportedTensorType { name: String, dtype: String },
    #[error("missing tensor {0}")]
    MissingTensor(String),
    #[error("tensor {name}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("{file}: missing metadata key {key}")]
    MissingMetadata { file: String, key: String },
    #[error("{file}: metadata key {key}: expected {expected}, found {found}")]
    MetadataType { file: String, key: String, expected: &'static str, found: String },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
}

impl ModelFileError {
    pub(crate) fn corrupt(file: &str, why: impl Into<String>) -> Self {
        Self::Corrupt { file: file.to_string(), why: why.into() }
    }

    pub(crate) fn truncated(file: &str, why: impl Into<String>) -> Self {
        Self::Truncated { file: file.to_string(), why: why.into() }
    }
}
