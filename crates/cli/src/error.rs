//! The CLI's error type: file-system problems name the path; everything else comes from core.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Core(#[from] labelcast_core::Error),
    #[error("{0}")]
    Engine(#[from] labelcast_engine::EngineError),
    #[error("{0}")]
    Usage(String),
    /// A problem with one row of the input, named as the file's reader knows it.
    #[error("{0}")]
    Row(String),
}

pub type CliResult<T> = Result<T, CliError>;
