//! labelcast-engine: everything that runs a language model.
//!
//! Loading (labelcast-modelfile) and tokenization (labelcast-text) are shared; the
//! transformer math runs on a backend: candle on the CPU, or WGSL kernels on wgpu
//! (WebGPU in the browser, Vulkan/Metal natively).

pub mod any;
pub mod backend;
pub mod coslow;
pub mod engine;
pub mod error;
pub mod flops;
pub mod grad;
pub mod infer;
pub mod model;
pub mod progress;

pub use any::AnyEngine;
pub use backend::{Backend, CpuBackend, GpuBackend};
pub use engine::{Engine, Example, Prompt};
pub use error::{EngineError, Result};
pub use grad::{CosLowResult, GradVariant, LoraOptions};
pub use infer::{Cut, LongRows, PromptScores, ScoreOptions};
pub use labelcast_core::backend::BackendChoice;
pub use labelcast_core::scores::Scores;
pub use labelcast_gpu::{AdapterSummary, Gpu, GpuOptions};
pub(crate) use progress::report;
pub use progress::{Flow, Proceed, Progress};
