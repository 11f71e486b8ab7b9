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
pub use engine::{Engine, Example, Prompt};
pub use error::{EngineError, Result};
pub use grad::{CosLowResult, GradVariant, LoraOptions};
pub use infer::{Cut, LongPrompts, PromptScores, ScoreOptions};
pub use labelcast_gpu::{AdapterSummary, Gpu, GpuOptions};

use std::future::Future;
use std::pin::Pin;

/// Where a long computation is, for progress bars. `done` counts finished items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Progress {
    /// Prompts scored (generation finished) so far.
    Scoring { done: usize, total: usize },
    /// Examples whose gradient is computed so far.
    Gradients { done: usize, total: usize },
}

/// What a progress callback answers: go on, or stop. A stopped job ends with
/// [`EngineError::Cancelled`] before its next item, and the engine stays usable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    Continue,
    Stop,
}

/// What a progress callback may return: `()` (never stops), a [`Flow`], or a boxed future of
/// one. The future is for a caller that learns of a cancel only by yielding to its event loop
/// (the browser's worker: its cancel message cannot run while the engine computes).
pub trait Proceed {
    fn proceed(self) -> impl Future<Output = Flow>;
}

impl Proceed for () {
    async fn proceed(self) -> Flow {
        Flow::Continue
    }
}

impl Proceed for Flow {
    async fn proceed(self) -> Flow {
        self
    }
}

impl Proceed for Pin<Box<dyn Future<Output = Flow> + '_>> {
    async fn proceed(self) -> Flow {
        self.await
    }
}

/// Reports `p` to `progress`; `Err(Cancelled)` when it asks to stop.
pub(crate) async fn report<R: Proceed>(progress: &mut dyn FnMut(Progress) -> R, p: Progress) -> Result<()> {
    match progress(p).proceed().await {
        Flow::Continue => Ok(()),
        Flow::Stop => Err(EngineError::Cancelled),
    }
}
