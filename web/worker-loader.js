// Starts labelcast's model worker (crates/worker, built by Trunk as a no-modules worker).
// A file of ours rather than Trunk's loader shim, so a failure to start is reported to the
// page as a message it understands instead of an uncaught error in the worker.
try {
  importScripts('./labelcast-worker.js');
  wasm_bindgen({ module_or_path: './labelcast-worker_bg.wasm' }).catch((e) => {
    postMessage({ kind: 'failed', job: null, message: `the model worker could not start: ${e}` });
  });
} catch (e) {
  postMessage({ kind: 'failed', job: null, message: `the model worker could not start: ${e}` });
}
