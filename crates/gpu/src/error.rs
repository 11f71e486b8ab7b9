//! The one error type of labelcast-gpu.

pub type Result<T, E = GpuError> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter: no WebGPU in this browser, or no Vulkan/Metal driver natively.
    #[error("no GPU adapter available: {0}")]
    NoAdapter(String),
    #[error("the GPU adapter refused a device: {0}")]
    NoDevice(String),
    /// The device was lost (driver reset, tab in the background too long, out of memory).
    #[error("the GPU device was lost: {0}")]
    DeviceLost(String),
    #[error("the GPU ran out of memory: {0}")]
    OutOfMemory(String),
    /// A validation error from wgpu: a bug in labelcast, reported rather than hidden.
    #[error("GPU validation error: {0}")]
    Validation(String),
    /// A tensor larger than the adapter lets one buffer or binding be.
    #[error("{what} needs {bytes} bytes in one GPU buffer, but this adapter allows at most {limit}")]
    TooLarge { what: String, bytes: u64, limit: u64 },
    /// Shapes that do not fit together: the op and what it got.
    #[error("{op}: {msg}")]
    Shape { op: &'static str, msg: String },
    #[error("reading a result back from the GPU failed: {0}")]
    Readback(String),
}

impl GpuError {
    pub(crate) fn shape(op: &'static str, msg: impl Into<String>) -> Self {
        GpuError::Shape { op, msg: msg.into() }
    }
}
