//! labelcast-modelfile: model files from bytes in memory (the browser has no file system).

pub mod config;
pub mod error;

pub use config::{Architecture, ModelConfig};
pub use error::{ModelFileError, Result};
