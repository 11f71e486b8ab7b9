//! What both backends share about a model: its weights in one Hugging Face layout, loading
//! them from a GGUF or safetensors file, and the batch layout (masks, rotary positions, the
//! KV cache's bookkeeping). The math lives in each backend (`backend/cpu`, `backend/gpu`).

pub mod kernels;
pub mod layout;
pub mod load;
pub mod matrix;
pub mod weights;

pub use layout::{rope_tables, KvCache, MASKED};
pub use load::{
    check_cpu_fits, cpu_bytes, parse_gguf, parse_gguf_source, parse_safetensors, parse_safetensors_sources,
    text_from_gguf,
};
// What the parsers return, so their callers need not depend on the loading crates.
pub use labelcast_modelfile::{ByteSource, ModelFile, SharedBytes};
pub use labelcast_text::{HfText, ModelText};
pub use matrix::{CpuWeights, Matrix, CPU_WEIGHTS_LIMIT, DENSE_BUDGET};
pub use weights::{expected_tensors, LayerWeights, Proj, Weights};
