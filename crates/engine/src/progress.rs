//! Progress of long computations and the caller's answer to it (go on, or stop). At the
//! bottom of the crate: every layer reports through it, none is imported by it.

use std::future::Future;
use std::pin::Pin;

use crate::error::{EngineError, Result};

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
