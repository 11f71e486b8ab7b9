// labelcast's parse worker: reads and parses a dropped pool off the page's main thread
// (crates/web/src/steps/data/parse_worker.rs). A module worker that loads the page's own wasm, whose
// hashed file names the page passes in the URL; `main` sees no window there and renders
// nothing. Messages that arrive while the wasm loads wait for it.
const params = new URL(self.location.href).searchParams;
const waiting = [];
self.onmessage = (e) => waiting.push(e.data);
try {
  const app = await import(params.get('js'));
  await app.default({ module_or_path: params.get('wasm') });
  self.onmessage = (e) => app.parse_worker_message(e.data);
  waiting.forEach((m) => app.parse_worker_message(m));
} catch (e) {
  postMessage({ kind: 'broken', message: `the parse worker could not start: ${e}` });
}
