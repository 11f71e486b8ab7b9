//! labelcast's model worker: the engine runs here, off the page's main thread, so the page
//! keeps painting and answering clicks while a model scores prompts or computes gradients.
//!
//! The page cancels a job with a message; the engine asks the job's progress callback between
//! items whether to go on, and that callback first yields to this worker's event loop (on the
//! CPU backend the engine never yields otherwise) so the cancel message gets to run. The model
//! stays loaded. Progress is posted from inside the callback: `postMessage` does not need this
//! worker's event loop.

#[cfg(target_arch = "wasm32")]
mod backend;
#[cfg(target_arch = "wasm32")]
mod blob_source;
#[cfg(target_arch = "wasm32")]
mod coslow;
#[cfg(target_arch = "wasm32")]
mod error;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg(target_arch = "wasm32")]
mod host;
#[cfg(target_arch = "wasm32")]
mod rows;
#[cfg(target_arch = "wasm32")]
mod runtime;

#[cfg(target_arch = "wasm32")]
fn main() {
    host::start();
}

/// The worker only runs in a browser; a native build exists so the workspace builds.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("labelcast-worker runs in the browser, started by the page (scripts/serve.sh).");
}
