//! labelcast-gpu: the GPU compute of labelcast on wgpu (WebGPU in the browser, Vulkan or
//! Metal natively).
//!
//! Layout: `kernels/` holds the WGSL, one op per file, shapes and bindings documented at the
//! top of each; `ops/` holds one small Rust module per op family that checks shapes and
//! records the dispatch; `context` opens the device and owns the pipeline cache and the open
//! command encoder; `pool` reuses buffers; `tensor` is a shaped buffer with upload/read-back.
//! The same async API serves native (pollster) and wasm.

pub mod context;
mod dispatch;
pub mod error;
pub mod ops;
pub mod pool;
pub mod tensor;
#[cfg(feature = "testing")]
pub mod testing;

pub use context::{AdapterSummary, Gpu, GpuOptions};
pub use error::{GpuError, Result};
pub use ops::matmul::MatmulOpts;
pub use ops::matvec::MATVEC_MAX_ROWS;
pub use ops::quant::{GpuLayout, QWeight, TensorType, UPLOAD_PIECE_BYTES};
pub use ops::sketch::SketchPlan;
pub use pool::PoolStats;
pub use tensor::{DType, Tensor};
