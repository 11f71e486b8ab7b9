// Model downloads from Hugging Face. This machine has no internet, so the test plays the hub:
// every https request the browser sends is intercepted (context.route) and answered with the
// local SmolLM2 file and the headers the hub sends (a 302 from huggingface.co to a download
// server, Access-Control-Allow-Origin). Playwright does not route the request that follows a
// redirect, so the download server is a local https server that the test's own browser
// resolves the download host to. The browser still applies the page's Content-Security-Policy
// (at every redirect) and CORS, so what passes here passes the same checks as a real download.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';

const REPO = 'https://huggingface.co/HuggingFaceTB/SmolLM2-135M-Instruct-GGUF';
const FILE = 'SmolLM2-135M-Instruct.Q4_1.gguf';
const RESOLVE = `${REPO}/resolve/main/${FILE}`;
const BLOB = `${REPO}/blob/main/${FILE}`;
const CDN_HOST = 'cas-bridge.xethub.hf.co';
const CDN = `https://${CDN_HOST}/xet-bridge-us/6541e0f2/5d1b9a?X-Amz-Signature=fixture`;
const CORS = { 'access-control-allow-origin': '*' };

/** Plays the hub; returns every https request the browser sent, with its headers and body. */
async function playHub(context) {
  const seen = [];
  const answers = new Map([
    [RESOLVE, { status: 302, headers: { ...CORS, location: CDN } }],
    [`${REPO}/resolve/main/page.gguf`, { status: 200, headers: { ...CORS, 'content-type': 'text/html' }, body: '<!doctype html><title>x</title>'.repeat(1000) }],
    [`${REPO}/resolve/main/gated.gguf`, { status: 403, headers: CORS, body: 'gated' }],
    [`${REPO}/resolve/main/elsewhere.gguf`, { status: 302, headers: { ...CORS, location: 'https://example.org/m.gguf' } }],
  ]);
  await context.route((url) => url.protocol === 'https:', async (route) => {
    const req = route.request();
    seen.push({ url: req.url(), method: req.method(), headers: await req.allHeaders(), body: req.postDataBuffer() });
    const answer = answers.get(req.url());
    // The "slow" file never answers: the page's Cancel must stop it.
    if (req.url().endsWith('/slow.gguf')) return;
    if (answer) await route.fulfill(answer);
    else await route.fulfill({ status: 404, headers: CORS, body: 'not found' });
  });
  return seen;
}

/** The download server: https on 127.0.0.1 with a throwaway self-signed certificate. */
async function startCdn(bytes, seen) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'labelcast-cdn-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', `/CN=${CDN_HOST}`,
    '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem')], { stdio: 'ignore' });
  const server = https.createServer({ key: fs.readFileSync(path.join(dir, 'key.pem')), cert: fs.readFileSync(path.join(dir, 'cert.pem')) }, (req, res) => {
    let body = 0;
    req.on('data', (c) => { body += c.length; });
    req.on('end', () => {
      const url = `https://${req.headers.host}${req.url}`;
      seen.push({ url, method: req.method, headers: req.headers, body: body ? body : null });
      if (url !== CDN) return res.writeHead(404, CORS).end();
      res.writeHead(200, { ...CORS, 'content-type': 'application/octet-stream', 'content-length': bytes.length }).end(bytes);
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

async function loadUrl(page, url) {
  await page.fill('#model-url', url);
  await page.click('#model-url-load');
}

/** Waits for the model to be ready or failed; on a timeout, says where it stood (status text,
 * the download's progress seen, the page's console), so a slow or stuck run can be told apart. */
async function settled(page, log) {
  try {
    await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout: 180_000 });
  } catch (e) {
    const state = await page.getAttribute('#model-status', 'data-state').catch(() => '?');
    const text = await page.textContent('#model-status').catch(() => '?');
    const seen = await page.evaluate(() => window.progressSeen ?? []).catch(() => []);
    throw new Error(`${e.message}\nmodel status ${state}: ${text}\nprogress seen: ${seen.slice(-5).join(' | ')}\nconsole: ${log.slice(-20).join('\n')}`);
  }
}

async function failure(page) {
  await page.waitForSelector('#model-status[data-state="failed"]', { timeout: 60_000 });
  return page.textContent('#model-status');
}

export async function runHubChecks({ openPage, launch, model, shots }) {
  const bytes = fs.readFileSync(model);
  const cdnSeen = [];
  const cdn = await startCdn(bytes, cdnSeen);
  // example.org too: were the policy not to stop the redirect to it, the server would see it.
  const at = `127.0.0.1:${cdn.address().port}`;
  const browser = await launch([`--host-resolver-rules=MAP ${CDN_HOST} ${at}, MAP example.org ${at}`]);
  try {
    await hubChecks({ openPage, browser, cdnSeen, shots });
  } finally {
    await browser.close();
    cdn.close();
  }
}

async function hubChecks({ openPage, browser, cdnSeen, shots }) {
  const offHost = [];
  const page = await openPage(undefined, { collectConsole: false, offHost, browser, ignoreHTTPSErrors: true });
  const context = page.context();
  // Hub login cookies in this browser: the download must not send them.
  for (const domain of ['huggingface.co', CDN_HOST]) {
    await context.addCookies([{ name: 'token', value: 'secret', domain, path: '/', secure: true }]);
  }
  const routed = await playHub(context);
  // The service worker controls the page, so the download also passes through it (web/sw.js
  // leaves other origins to the network).
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });

  // A "blob" page link: rewritten to the download link (with a note), redirected to a
  // download server, streamed with progress, kept in the cache with its size, loaded.
  await page.evaluate(() => {
    window.progressSeen = [];
    new MutationObserver(() => {
      const p = document.querySelector('#model-status[data-state="downloading"] p');
      if (p) window.progressSeen.push(p.textContent);
    }).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  const log = [];
  page.on('console', (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (err) => log.push(`pageerror: ${err}`));
  await loadUrl(page, BLOB);
  await settled(page, log);
  assert.equal(await page.getAttribute('#model-status', 'data-state'), 'ready', await page.textContent('#model-status'));
  assert.equal(await page.textContent('#model-source'), ` (${FILE})`);
  assert.match(await page.textContent('#model-url-note'), new RegExp(`"resolve" link: ${RESOLVE.replace(/[.?]/g, '\\$&')}`));
  const progress = await page.evaluate(() => window.progressSeen);
  assert.ok(progress.some((t) => new RegExp(`Downloading ${FILE}: [0-9.]+ [KM]i?B of 93\\.8 MiB`).test(t)), progress.join('\n'));
  const cached = page.locator(`#cached-models li[data-url="${RESOLVE}"]`);
  await cached.waitFor();
  assert.match(await cached.textContent(), /93\.8 MiB/);
  assert.deepEqual(routed.map((r) => r.url), [RESOLVE]);
  assert.deepEqual(cdnSeen.map((r) => r.url), [CDN]);
  await page.locator('#step-model').screenshot({ path: path.join(shots, 'model-hub.png') });

  // Loaded again from the cache: no request.
  await cached.locator('button', { hasText: 'Load' }).click();
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  assert.equal(routed.length + cdnSeen.length, 2, 'the cached model is not downloaded again');

  // Deleted, then downloaded again from the resolve link itself.
  await cached.locator('.cached-delete').click();
  await page.waitForSelector('#cached-models', { state: 'detached' });
  await loadUrl(page, RESOLVE);
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  assert.equal(await page.locator('#model-url-note').count(), 0, 'a resolve link needs no note');
  await cached.waitFor();
  assert.equal(cdnSeen.length, 2);

  // Errors: a web page, a gated model, a redirect to a host the policy does not allow, Cancel.
  await loadUrl(page, `${REPO}/resolve/main/page.gguf`);
  assert.match(await failure(page), /not a GGUF model file: it is a web page/);
  await loadUrl(page, `${REPO}/resolve/main/gated.gguf`);
  assert.match(await failure(page), /HTTP 403.*private or gated/);
  await loadUrl(page, `${REPO}/resolve/main/elsewhere.gguf`);
  assert.match(await failure(page), /could not download/);
  await loadUrl(page, `${REPO}/resolve/main/slow.gguf`);
  await page.click('#model-download-cancel');
  assert.match(await failure(page), /Cancelled the download/);
  assert.equal(await page.locator('#cached-models li').count(), 1, 'failed downloads keep nothing');

  // A host that is not listed: refused before any request, naming the allowed hosts.
  const before = routed.length;
  await loadUrl(page, 'https://example.com/models/m.gguf');
  const refused = await failure(page);
  assert.match(refused, /only from its own server and from huggingface\.co, \*\.huggingface\.co, hf\.co, \*\.hf\.co/);
  assert.match(refused, /Drop model files here/);
  assert.equal(routed.length, before, 'no request for a refused URL');

  // The policy (meta and header) still blocks any other host, whatever the page's code does.
  const outcome = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    let fetched = 'sent';
    try { await fetch('https://example.com/probe'); } catch { fetched = 'blocked'; }
    await new Promise((r) => setTimeout(r, 100));
    return { fetched, violations };
  });
  assert.equal(outcome.fetched, 'blocked');
  assert.ok(outcome.violations.some((d) => d.startsWith('connect-src')), JSON.stringify(outcome));

  // Every request that left 127.0.0.1 was one of the hub's, a plain GET with no cookie, no
  // referrer, no body and no query the page added.
  const seen = [...routed, ...cdnSeen];
  // Playwright reports the redirect to example.org as a request; the policy stopped it in the
  // browser, and the server example.org resolves to here never saw it (below).
  const hub = /^https:\/\/(huggingface\.co|hf\.co|[a-z0-9.-]+\.hf\.co)\//;
  assert.deepEqual(offHost.filter((u) => !hub.test(u)), ['https://example.org/m.gguf'], offHost.join('\n'));
  // Neither the refused URL, nor the probe, nor the redirect to a host not listed was sent.
  assert.ok(!seen.some((r) => /^https:\/\/example\.(com|org)\//.test(r.url)), seen.map((r) => r.url).join('\n'));
  for (const r of seen) {
    assert.equal(r.method, 'GET', r.url);
    assert.equal(r.body, null, r.url);
    assert.equal(r.headers.cookie, undefined, `${r.url} sent a cookie`);
    assert.equal(r.headers.referer, undefined, `${r.url} sent a referrer`);
    assert.ok(r.url === CDN || !r.url.includes('?'), `${r.url}: the page added a query`);
  }
  await context.close();
}
