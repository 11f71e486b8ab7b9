// A minimal static file server for the built app (dist/), bound to 127.0.0.1 only.
// Used by scripts/serve.sh and by the end-to-end test. No dependencies.
//   node tests/e2e/server.mjs DIR [PORT]     (PORT 0 = any free port)
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.wasm': 'application/wasm',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.json': 'application/json',
  '.csv': 'text/csv; charset=utf-8',
  '.jsonl': 'application/jsonl; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
};

// The page carries this policy in a <meta> tag too; the header also covers the model worker,
// whose own policy comes from the response that delivers its script, not from the page.
// connect-src's model hosts are MODEL_HOSTS in crates/web/src/steps/model/model_source.rs (crates/web/tests/csp.rs
// checks that this string and index.html's agree with it).
export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; " +
  "img-src 'self' data:; font-src 'self'; " +
  "connect-src 'self' https://huggingface.co https://*.huggingface.co https://hf.co https://*.hf.co; " +
  "worker-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'";

// `hide`: file names starting with one of these are answered 404, as a server without them
// would (`trunk serve` builds no relaxed-SIMD worker).
export function startServer(root, port = 0, { hide = [] } = {}) {
  const base = path.resolve(root);
  const server = http.createServer(async (req, res) => {
    try {
      const url = new URL(req.url, 'http://127.0.0.1');
      let rel = decodeURIComponent(url.pathname);
      if (hide.some((h) => path.basename(rel).startsWith(h))) throw new Error('hidden');
      if (rel.endsWith('/')) rel += 'index.html';
      const file = path.resolve(base, '.' + rel);
      if (!file.startsWith(base + path.sep)) {
        res.writeHead(403).end('forbidden');
        return;
      }
      const body = await fs.readFile(file);
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
        // The page shows download progress of the model against this.
        'Content-Length': body.length,
        'Cache-Control': 'no-cache',
        'X-Content-Type-Options': 'nosniff',
        'Content-Security-Policy': CSP,
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [dir = 'dist', port = '8080'] = process.argv.slice(2);
  const server = await startServer(dir, Number(port));
  const { port: p } = server.address();
  console.log(`labelcast is being served at http://127.0.0.1:${p}/  (this machine only; Ctrl-C stops it)`);
}
