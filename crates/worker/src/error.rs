//! The worker's one error type. Its message is what the page shows (`Reply::Failed`), so each
//! variant names the file, or the row as the page named it; it becomes a string only there.

use labelcast_engine::EngineError;

#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    #[error("{file}: the browser could not read the file: {why}")]
    Read { file: String, why: String },
    #[error("{file}: not enough memory in the worker to read its {size}")]
    NoMemory { file: String, size: String },
    #[error("{file}: not a GGUF model file (it does not start with \"GGUF\"); choose a .gguf file")]
    NotGguf { file: String },
    #[error("{file}: not UTF-8 text: {why}")]
    NotText { file: String, why: String },
    #[error("no model is loaded yet")]
    NoModel,
    /// WebGPU, as the person chose, could not load the model; `advice` says what is left to do.
    #[error("{model}: loading on WebGPU failed: {source}. Its weights take {gpu_need} of GPU memory{advice}")]
    WebGpuLoad { model: String, source: EngineError, gpu_need: String, advice: &'static str },
    /// An engine error about one item, the item named as the page named it.
    #[error("{name}: {detail}")]
    Item { name: String, detail: String },
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl WorkerError {
    /// An engine error, naming its item by the page's name for it when there is one.
    pub fn named(e: EngineError, names: &[Option<String>]) -> Self {
        match e.item().and_then(|i| names.get(i).cloned().flatten()) {
            Some(name) => WorkerError::Item { name, detail: e.detail() },
            None => WorkerError::Engine(e),
        }
    }
}

pub type Result<T, E = WorkerError> = std::result::Result<T, E>;
