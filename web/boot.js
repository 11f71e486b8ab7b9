// Starts labelcast. A file rather than Trunk's inline loader, so the page's
// Content-Security-Policy allows scripts from 'self' only. Trunk writes the names of the
// generated files (which carry content hashes) into this script tag's data attributes.
const tag = document.querySelector('script[data-labelcast-boot]');
const { default: init } = await import(tag.dataset.js);
await init({ module_or_path: tag.dataset.wasm });
// Offline use after the first visit (web/sw.js). Optional: the app works without it.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('sw.js').catch(() => {});
}
