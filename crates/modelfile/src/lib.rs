//! labelcast-modelfile: model files from bytes in memory (the browser has no file system).
//!
//! Two formats give one layout: a GGUF file ([`ModelFile::from_gguf`]) or safetensors shards
//! with config.json ([`ModelFile::from_safetensors`]) both become a [`ModelConfig`] and tensors
//! under Hugging Face names with [out, in] shapes, with rotary embeddings in the Hugging Face
//! "rotate_half" convention (llama.cpp's Q/K row permutation is undone).
//!
//! Memory: the file is held once ([`SharedBytes`]; a `Vec<u8>` is moved in, not copied), or
//! not at all: a GGUF too large to hold is read range by range ([`ModelFile::from_gguf_source`]).
//! Tensors are byte ranges into it; [`ModelFile::tensor_f32`] allocates a new f32 tensor per
//! call and caches nothing; [`ModelFile::raw`] borrows the stored (possibly quantized) bytes.
//!
//! Which files make a model ([`folder`]): one .gguf, or a safetensors model's files, decided
//! from names and a few bytes, by the same rule for the CLI's folder and the page's picked files.
//!
//! Hostile input: the GGUF parser ([`gguf::GgufFile::parse`]) checks every length against the
//! bytes present before allocating, so any malformed file gives [`ModelFileError::Corrupt`] or
//! [`ModelFileError::Truncated`] naming the file and the item, never a panic.

pub mod bytes;
pub mod config;
pub mod dtype;
pub mod error;
pub mod folder;
pub mod gguf;
mod load_gguf;
pub mod metadata;
pub mod model;
pub mod names;
pub mod rope;
pub mod safetensors;
pub mod source;
#[cfg(feature = "testing")]
pub mod synth;
#[cfg(feature = "testing")]
pub mod testing;

pub use bytes::SharedBytes;
pub use config::{Architecture, ModelConfig};
pub use dtype::TensorType;
pub use error::{ModelFileError, Result};
pub use metadata::{Array, Metadata, Value};
pub use model::{expected_tensors, Format, ModelFile, RawTensor};
pub use rope::RopeScaling;
pub use source::{ByteSource, FileBytes};
