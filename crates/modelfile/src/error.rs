//! The one error type of labelcast-modelfile.

pub type Result<T, E = ModelFileError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum ModelFileError {
    #[error("{file}: not a valid model file: {why}")]
    Corrupt { file: String, why: String },
    #[error("{file}: file ends early: {why}")]
    Truncated { file: String, why: String },
    #[error("unsupported architecture \"{0}\" (supported: llama, mistral, qwen2)")]
    UnsupportedArchitecture(String),
    #[error("tensor {name}: unsupported tensor type {dtype}")]
    UnsupportedTensorType { name: String, dtype: String },
    #[error("missing tensor {0}")]
    MissingTensor(String),
    #[error("tensor {name}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch { name: String, expected: Vec<usize>, found: Vec<usize> },
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error("tensor computation: {0}")]
    Candle(#[from] candle_core::Error),
}
