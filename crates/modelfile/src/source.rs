//! Where a model file's bytes are: held in memory, or read range by range on demand.
//!
//! A browser tab cannot hold an 8B model's 4.9 GB file in wasm32's 4 GiB, and does not need
//! to: the GPU takes the weights tensor by tensor. A [`ByteSource`] reads one range at a time
//! (a `Blob` slice in the worker), so the file's header is parsed from its first bytes and
//! each tensor is read when a backend asks for it, then dropped.

use crate::{ModelFileError, Result, SharedBytes};
use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

/// `Send + Sync` natively; nothing on wasm32, where a browser's `Blob` is neither and there is
/// one thread.
#[cfg(not(target_arch = "wasm32"))]
pub trait MaybeSendSync: Send + Sync {}
#[cfg(not(target_arch = "wasm32"))]
impl<T: Send + Sync + ?Sized> MaybeSendSync for T {}
#[cfg(target_arch = "wasm32")]
pub trait MaybeSendSync {}
#[cfg(target_arch = "wasm32")]
impl<T: ?Sized> MaybeSendSync for T {}

/// A file read in ranges.
pub trait ByteSource: MaybeSendSync {
    /// The file's length in bytes.
    fn len(&self) -> u64;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Exactly the bytes of `range` (which lies within `len`), or why they cannot be read.
    fn read(&self, range: Range<u64>) -> std::result::Result<Vec<u8>, String>;
}

/// One file of a model (a GGUF, or one safetensors shard).
#[derive(Clone)]
pub enum FileBytes {
    Memory(SharedBytes),
    Streamed(Arc<dyn ByteSource>),
}

impl FileBytes {
    pub fn len(&self) -> u64 {
        match self {
            FileBytes::Memory(b) => b.len() as u64,
            FileBytes::Streamed(s) => s.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes of `range`: borrowed from memory, or read from the source. `file` names the
    /// file in errors.
    pub fn read(&self, file: &str, range: Range<u64>) -> Result<Cow<'_, [u8]>> {
        if range.start > range.end || range.end > self.len() {
            return Err(ModelFileError::Read {
                file: file.to_string(),
                why: format!("bytes {}..{} lie outside its {} bytes", range.start, range.end, self.len()),
            });
        }
        match self {
            // Within len, which is a usize here.
            FileBytes::Memory(b) => Ok(Cow::Borrowed(&b[range.start as usize..range.end as usize])),
            FileBytes::Streamed(s) => {
                let want = range.end - range.start;
                let bytes =
                    s.read(range.clone()).map_err(|why| ModelFileError::Read { file: file.to_string(), why })?;
                if bytes.len() as u64 != want {
                    return Err(ModelFileError::Read {
                        file: file.to_string(),
                        why: format!(
                            "asked for bytes {}..{}, got {} bytes (did the file change?)",
                            range.start,
                            range.end,
                            bytes.len()
                        ),
                    });
                }
                Ok(Cow::Owned(bytes))
            }
        }
    }

    /// The bytes when they are all in memory.
    pub fn in_memory(&self) -> Option<&SharedBytes> {
        match self {
            FileBytes::Memory(b) => Some(b),
            FileBytes::Streamed(_) => None,
        }
    }
}

impl std::fmt::Debug for FileBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FileBytes::Memory(b) => write!(f, "Memory({} bytes)", b.len()),
            FileBytes::Streamed(s) => write!(f, "Streamed({} bytes)", s.len()),
        }
    }
}

impl From<SharedBytes> for FileBytes {
    fn from(b: SharedBytes) -> Self {
        FileBytes::Memory(b)
    }
}
