//! A file's bytes, held once and shared.
//!
//! The browser reads a model file into one `Vec<u8>` (hundreds of MB). Converting that into an
//! `Arc<[u8]>` would copy it, so `SharedBytes` wraps whatever owns the bytes behind an `Arc`
//! instead: `From<Vec<u8>>` moves the vector without touching its contents, and clones are a
//! reference-count increment.

use std::fmt;
use std::sync::Arc;

#[derive(Clone)]
pub struct SharedBytes(Arc<dyn AsRef<[u8]> + Send + Sync>);

impl SharedBytes {
    pub fn new(owner: impl AsRef<[u8]> + Send + Sync + 'static) -> Self {
        Self(Arc::new(owner))
    }

    pub fn as_slice(&self) -> &[u8] {
        (*self.0).as_ref()
    }

    pub fn len(&self) -> usize {
        self.as_slice().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_slice().is_empty()
    }
}

impl AsRef<[u8]> for SharedBytes {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::ops::Deref for SharedBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl fmt::Debug for SharedBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SharedBytes({} bytes)", self.len())
    }
}

impl From<Vec<u8>> for SharedBytes {
    fn from(v: Vec<u8>) -> Self {
        Self::new(v)
    }
}

impl From<Arc<[u8]>> for SharedBytes {
    fn from(v: Arc<[u8]>) -> Self {
        Self::new(v)
    }
}

impl From<&'static [u8]> for SharedBytes {
    fn from(v: &'static [u8]) -> Self {
        Self::new(v)
    }
}

impl From<Box<[u8]>> for SharedBytes {
    fn from(v: Box<[u8]>) -> Self {
        Self::new(v)
    }
}
