//! labelcast-engine: everything that runs a language model.
//!
//! Loading (labelcast-modelfile) and tokenization (labelcast-text) are shared; the
//! transformer math runs on a backend: candle on the CPU, or WGSL kernels on wgpu
//! (WebGPU in the browser, Vulkan/Metal natively).

pub mod any;
pub mod backend;
pub mod engine;
pub mod error;
pub mod flops;
pub mod grad;
pub mod infer;
pub mod model;

pub use any::{AnyEngine, BackendChoice};
pub use backend::{Backend, CpuBackend, GpuBackend};
pub use labelcast_gpu::{AdapterSummary, Gpu, GpuOptions};
pub use engine::{Engine, Example, Prompt};
pub use error::{EngineError, Result};
pub use grad::{CosLowResult, GradVariant, LoraOptions};
pub use infer::{PromptScores, ScoreOptions};

/// Where a long computation is, for progress bars. `done` counts finished items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Prompts scored (generation finished) so far.
    Scoring { done: usize, total: usize },
    /// Examples whose gradient is computed so far.
    Gradients { done: usize, total: usize },
}
