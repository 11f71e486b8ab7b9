// Starts labelcast's model worker (crates/worker, built by Trunk as a no-modules worker).
// A file of ours rather than Trunk's loader shim, so a failure to start is reported to the
// page as a message it understands instead of an uncaught error in the worker. Of the
// worker's two builds it loads the one this browser runs best (wasm-features.js), and the
// plain one where the other is missing (a `trunk serve` builds only that one).
const failed = (e) => postMessage({ kind: 'failed', job: null, message: `the model worker could not start: ${e}` });
const start = (build) => {
  importScripts(`./${build}.js`);
  return wasm_bindgen({ module_or_path: `./${build}_bg.wasm` });
};
try {
  importScripts('./wasm-features.js');
  let started;
  try {
    started = start(self.labelcastWorkerBuild);
  } catch (e) {
    if (self.labelcastWorkerBuild === 'labelcast-worker') throw e;
    started = start('labelcast-worker');
  }
  started.catch(failed);
} catch (e) {
  failed(e);
}
