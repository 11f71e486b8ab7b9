//! labelcast-engine: everything that runs a language model.
//!
//! Loading (labelcast-modelfile) and tokenization (labelcast-text) are shared; the
//! transformer math runs on a backend (candle on the CPU now, wgpu next).

pub mod error;

pub use error::{EngineError, Result};
