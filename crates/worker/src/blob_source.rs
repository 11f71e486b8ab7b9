//! A model file read from its `Blob` a range at a time, so that a file larger than the worker's
//! WebAssembly memory (4 GiB at most) can still be loaded: the header is parsed from its first
//! bytes and each tensor is read when the GPU upload asks for it, then dropped.
//!
//! `FileReaderSync` (dedicated workers only) reads synchronously: the engine's loaders are
//! synchronous, and the file's bytes never pass through the JavaScript heap of the page.

use std::cell::Cell;
use std::ops::Range;

use js_sys::Uint8Array;
use labelcast_engine::model::ByteSource;
use labelcast_protocol::Reply;
use web_sys::{Blob, FileReaderSync};

use crate::error::WorkerError;
use crate::runtime::post;

/// Progress is posted every this many bytes read.
const REPORT_EVERY: u64 = 64 << 20;

pub struct BlobSource {
    name: String,
    blob: Blob,
    reader: FileReaderSync,
    read: Cell<u64>,
    reported: Cell<u64>,
}

impl BlobSource {
    pub fn new(name: &str, blob: Blob) -> Result<Self, WorkerError> {
        let reader = FileReaderSync::new().map_err(|e| WorkerError::Read {
            file: name.to_string(),
            why: format!("this browser offers workers no FileReaderSync ({e:?})"),
        })?;
        Ok(Self { name: name.to_string(), blob, reader, read: Cell::new(0), reported: Cell::new(0) })
    }
}

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

impl ByteSource for BlobSource {
    fn len(&self) -> u64 {
        self.blob.size() as u64
    }

    fn read(&self, range: Range<u64>) -> Result<Vec<u8>, String> {
        let slice = self
            .blob
            .slice_with_f64_and_f64(range.start as f64, range.end as f64)
            .map_err(|e| format!("the browser could not slice it: {e:?}"))?;
        let buffer = self
            .reader
            .read_as_array_buffer(&slice)
            .map_err(|e| format!("the browser could not read bytes {}..{}: {e:?}", range.start, range.end))?;
        let bytes = Uint8Array::new(&buffer).to_vec();
        let read = self.read.get() + bytes.len() as u64;
        self.read.set(read);
        if read - self.reported.get() >= REPORT_EVERY {
            self.reported.set(read);
            post(&Reply::Loading {
                stage: format!(
                    "reading {} tensor by tensor: {} of {} MiB read",
                    self.name,
                    mib(read).min(mib(self.len())),
                    mib(self.len())
                ),
            });
        }
        Ok(bytes)
    }
}
