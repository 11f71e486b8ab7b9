// labelcast's service worker: after a first visit the app works without a network. Network
// first, so a new build is used as soon as the server has it; the cache answers only when the
// network fails. Models are not cached here: the page keeps the ones it downloaded in its own
// cache (with their size and a Delete button), and a second copy would double ~100 MB.
const CACHE = 'labelcast-app-v1';
importScripts('./wasm-features.js');

// Of the worker's two builds, only the one this browser loads: wasm-features.js's choice, or the
// plain build where the server lacks the other (`trunk serve` builds only that one), as
// worker-loader.js falls back.
async function workerBuild() {
  const preferred = self.labelcastWorkerBuild;
  if (preferred === 'labelcast-worker') return preferred;
  const probe = await fetch(`./${preferred}.js`, { method: 'HEAD', cache: 'no-cache' }).catch(() => null);
  return probe?.ok ? preferred : 'labelcast-worker';
}

// The files of the current build: the page itself, the hashed names it references, and the
// worker's fixed names. Fetched at install, because the first visit's requests happened
// before this worker existed.
async function precache() {
  const cache = await caches.open(CACHE);
  const page = await fetch('./', { cache: 'no-cache' });
  const html = await page.clone().text();
  await cache.put('./', page);
  const names = [...html.matchAll(/(?:href|src|data-js|data-wasm)="([^"]+)"/g)].map((m) => m[1]);
  const worker = await workerBuild();
  const fixed = ['worker-loader.js', 'wasm-features.js', `${worker}.js`, `${worker}_bg.wasm`, 'parse-worker.js'];
  const files = [...new Set([...names, ...fixed])]
    .filter((n) => !n.startsWith('#') && !/^[a-z]+:/i.test(n));
  await cache.addAll(files);
}

self.addEventListener('install', (e) => e.waitUntil(precache().then(() => self.skipWaiting())));
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));

// Only this origin's GET requests are answered here. Anything else, a model download from
// Hugging Face included, is left to the browser untouched (no respondWith): the download keeps
// its CORS mode, redirects and streaming, and the page keeps the model in its own cache.
self.addEventListener('fetch', (e) => {
  const req = e.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin || url.pathname.endsWith('.gguf')) return;
  e.respondWith((async () => {
    try {
      const resp = await fetch(req);
      if (resp.ok) {
        const cache = await caches.open(CACHE);
        await cache.put(req, resp.clone());
      }
      return resp;
    } catch (err) {
      // The parse worker is started as parse-worker.js?js=…&wasm=… (the build's hashed names):
      // its cached copy, stored without the query, answers too.
      const hit = (await caches.match(req)) ?? (await caches.match(req, { ignoreSearch: true }));
      if (hit) return hit;
      throw err;
    }
  })());
});
