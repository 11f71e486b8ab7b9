//! labelcast's model worker: the engine runs here, off the page's main thread, so the page
//! keeps painting and answering clicks while a model scores prompts or computes gradients.
//!
//! On the CPU backend the engine's work is synchronous inside its async API (it never
//! yields), so a job runs to its end once started; on WebGPU it yields at each read-back. Either
//! way the page cancels by terminating this worker and starting a fresh one. Progress is posted from inside the engine's progress callback, which works
//! without yielding because `postMessage` does not need this worker's event loop.

#[cfg(target_arch = "wasm32")]
mod backend;
#[cfg(target_arch = "wasm32")]
mod files;
#[cfg(target_arch = "wasm32")]
mod host;

#[cfg(target_arch = "wasm32")]
fn main() {
    host::start();
}

/// The worker only runs in a browser; a native build exists so the workspace builds.
#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("labelcast-worker runs in the browser, started by the page (scripts/serve.sh).");
}
