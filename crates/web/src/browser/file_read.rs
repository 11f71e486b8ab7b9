//! Reading a dropped or picked file into memory without blocking the page, and fetching
//! the bundled example (same origin only; the CSP forbids anything else anyway).

use js_sys::Uint8Array;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Files above this are refused before reading: the table is held in wasm memory
/// (4 GiB at most) next to the raw bytes, and parsing more than this would freeze the
/// tab for a long time on an ordinary laptop.
pub const MAX_FILE_BYTES: f64 = 512.0 * 1024.0 * 1024.0;

/// Reading in slices lets the page report progress and stay responsive between slices;
/// `File.arrayBuffer()` on the whole file gives no progress at all.
const CHUNK_BYTES: f64 = 8.0 * 1024.0 * 1024.0;

/// Accepted by the file input; the core sniffs the format when the extension is unknown.
pub const ACCEPT: &str = ".csv,.tsv,.jsonl,.json,.ndjson";

pub const EXAMPLE_PATH: &str = "examples/pool.csv";
pub const EXAMPLE_NAME: &str = "pool.csv";

/// Why a file (or the bundled example) could not be read into the page.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ReadError {
    #[error(
        "This file is {}; labelcast reads files up to {} in the browser. Split it into smaller files, \
         or use the labelcast command-line tool for large pools.",
        crate::format::bytes(*size),
        crate::format::bytes(MAX_FILE_BYTES)
    )]
    TooLarge { size: f64 },
    #[error("Not enough memory to read {} in this tab.", crate::format::bytes(*size))]
    NoMemory { size: f64 },
    #[error("Could not read the file: {0}")]
    Browser(String),
    #[error("Could not load the example file: {0}")]
    Example(String),
    #[error("No browser window.")]
    NoWindow,
    /// The bytes could not be made a Blob again (a pool kept before IndexedDB, the example).
    #[error("this browser could not hold the file")]
    NotHeld,
}

/// Why a file was refused before reading it, if it is.
pub fn refuse(size: f64) -> Option<ReadError> {
    (size > MAX_FILE_BYTES).then_some(ReadError::TooLarge { size })
}

fn js_message(v: JsValue) -> String {
    if let Some(e) = v.dyn_ref::<js_sys::Error>() {
        return String::from(e.message());
    }
    v.as_string().unwrap_or_else(|| "the browser gave no reason".to_string())
}

/// The Files of a file input or a drop.
pub fn list(files: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    files.map(|fs| (0..fs.length()).filter_map(|i| fs.get(i)).collect()).unwrap_or_default()
}

/// Reads the whole file (or any Blob: a pool kept in IndexedDB), calling
/// `progress(bytes_read)` after each slice.
pub async fn read_file(file: &web_sys::Blob, mut progress: impl FnMut(f64)) -> Result<Vec<u8>, ReadError> {
    let size = file.size();
    if let Some(why) = refuse(size) {
        return Err(why);
    }
    let mut bytes: Vec<u8> = Vec::new();
    bytes.try_reserve_exact(size as usize).map_err(|_| ReadError::NoMemory { size })?;
    let mut start = 0.0;
    while start < size {
        let end = (start + CHUNK_BYTES).min(size);
        let blob = file.slice_with_f64_and_f64(start, end).map_err(|e| ReadError::Browser(js_message(e)))?;
        let buf = JsFuture::from(blob.array_buffer()).await.map_err(|e| ReadError::Browser(js_message(e)))?;
        bytes.extend_from_slice(&Uint8Array::new(&buf).to_vec());
        start = end;
        progress(start);
    }
    Ok(bytes)
}

/// Fetches the example file shipped next to the page.
pub async fn fetch_example() -> Result<Vec<u8>, ReadError> {
    let fail = |e: JsValue| ReadError::Example(js_message(e));
    let window = web_sys::window().ok_or(ReadError::NoWindow)?;
    let resp = JsFuture::from(window.fetch_with_str(EXAMPLE_PATH)).await.map_err(fail)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(fail)?;
    if !resp.ok() {
        return Err(ReadError::Example(format!("HTTP {}", resp.status())));
    }
    let buf = JsFuture::from(resp.array_buffer().map_err(fail)?).await.map_err(fail)?;
    Ok(Uint8Array::new(&buf).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_only_above_the_limit() {
        assert!(refuse(0.0).is_none());
        assert!(refuse(MAX_FILE_BYTES).is_none());
        let msg = refuse(MAX_FILE_BYTES + 1.0).expect("refused").to_string();
        assert!(msg.contains("512 MiB"), "{msg}");
    }
}
