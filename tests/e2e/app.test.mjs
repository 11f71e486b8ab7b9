// End-to-end test of the browser app: serves the Trunk build (dist/) on 127.0.0.1, drives
// Debian's Chromium through playwright-core, and checks what a person sees against the CLI.
//   LABELCAST_BIN=target/debug/labelcast node --test tests/e2e/app.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';
import { runWorkflow, roundBudget, waitForAuc } from './workflow.mjs';
import { runHubChecks } from './hub.mjs';
import { runModelFileChecks, runStorageCheck } from './model_files.mjs';
import { runLargePoolChecks, runStorageFullChecks } from './large_pool.mjs';
import { runBigModelCheck } from './big_model.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DIST = path.join(ROOT, 'dist');
const FIXTURES = path.join(ROOT, 'tests/fixtures');
const SHOTS = path.join(ROOT, 'docs/screenshots');
const BIN = process.env.LABELCAST_BIN ?? path.join(ROOT, 'target/debug/labelcast');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const MODEL = path.join(ROOT, 'models/SmolLM2-135M-Instruct.Q4_1.gguf');

let server, browser, baseUrl;

// Playwright gives every launch a fresh, empty profile of its own (it rejects --user-data-dir).
function launch(extraArgs = []) {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless=new', '--no-sandbox', '--enable-unsafe-webgpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs,
    ],
  });
}
const offHost = []; // every request that tried to leave 127.0.0.1
const consoleErrors = [];

before(async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'index.html')), 'dist/index.html missing: run scripts/build-web.sh');
  server = await startServer(DIST, 0);
  baseUrl = `http://127.0.0.1:${server.address().port}/`;
  browser = await launch();
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  server?.close();
});

// `offHost` collects the requests that left 127.0.0.1: the shared list, which must stay empty,
// unless a test checks its own (the model hub's, which also uses a browser of its own).
async function openPage(viewport = { width: 1280, height: 800 }, { collectConsole = true, offHost: off = offHost, browser: b = browser, ignoreHTTPSErrors = false } = {}) {
  const context = await b.newContext({ viewport, ignoreHTTPSErrors });
  const page = await context.newPage();
  page.on('request', (req) => {
    const u = new URL(req.url());
    if (['data:', 'blob:'].includes(u.protocol)) return;
    if (u.hostname !== '127.0.0.1') off.push(req.url());
  });
  if (collectConsole) {
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));
  }
  await page.goto(baseUrl);
  await page.waitForSelector('#drop-zone', { timeout: 60_000 });
  return page;
}

/** Drops a file on the drop zone the way a person's drag and drop does. */
async function dropFile(page, file) {
  const bytes = [...fs.readFileSync(path.join(FIXTURES, file))];
  const dt = await page.evaluateHandle(({ bytes, name }) => {
    const dt = new DataTransfer();
    dt.items.add(new File([new Uint8Array(bytes)], name, { type: 'text/csv' }));
    return dt;
  }, { bytes, name: file });
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent('#drop-zone', type, { dataTransfer: dt });
  }
}

function cliForecast(coslow, family) {
  const out = execFileSync(BIN, ['forecast', '--coslow', String(coslow), '--family', family, '--json'], { encoding: 'utf8' });
  return JSON.parse(out);
}

test('a malformed CSV lists every problem with its line', async () => {
  const page = await openPage();
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'pool_bad.csv'));
  const items = page.locator('#errors li');
  await items.first().waitFor({ timeout: 30_000 });
  const texts = await items.allTextContents();
  const all = texts.join('\n');
  for (const line of [3, 4, 6]) assert.match(all, new RegExp(`line ${line}\\b`), `no error for line ${line} in:\n${all}`);
  assert.match(all, /expected 3 fields/i);
  assert.match(all, /quote/i);
  await page.screenshot({ path: path.join(SHOTS, 'data-errors.png'), fullPage: true });
  await page.context().close();
});

test('a good CSV shows a preview and detected roles; budgets equal the CLI', async () => {
  const page = await openPage();
  await dropFile(page, 'pool_good.csv');
  await page.waitForFunction(() => /120 rows/.test(document.querySelector('#file-status')?.textContent ?? ''), null, { timeout: 30_000 });
  assert.equal(await page.locator('#errors li').count(), 0, 'a good file must show no errors');
  const previewRows = await page.locator('#preview table tbody tr').count();
  assert.ok(previewRows >= 10 && previewRows <= 120, `preview rows: ${previewRows}`);
  await page.waitForSelector('#preview table >> text=ticket 1)');
  assert.equal(await page.locator('select#role-prompt').inputValue(), 'question');
  assert.equal(await page.locator('#role-answer').inputValue(), 'label');
  assert.equal(await page.locator('#role-category').inputValue(), 'category');
  assert.equal(await page.locator('#role-id').inputValue(), 'id');

  // No CoS-Low yet: no forecast, whatever the set; the example value is only a placeholder.
  assert.equal(await page.inputValue('input#coslow'), '');
  assert.match(await page.getAttribute('input#coslow', 'placeholder'), /e\.g\. 0\.65 \(an example/);
  assert.match(await page.textContent('#forecast-empty'), /No forecast yet/);
  assert.equal(await page.locator('#step-forecast .headline').count(), 0);
  assert.equal(await page.textContent('#budget-table tbody tr[data-target="0.9"] td.budget'), '—');
  for (const [coslow, family] of [[0.65, 'llama-3.1-8b-instruct'], [0.3, 'mistral-7b-instruct-v0.3'], [-0.1, 'qwen2.5-14b-instruct']]) {
    await page.selectOption('select#coef-set', family);
    await page.fill('input#coslow', String(coslow));
    await page.locator('input#coslow').press('Enter');
    const cli = cliForecast(coslow, family);
    await waitForAuc(page, cli.predicted_auc);
    assert.equal(await page.textContent('#predicted-auc'), cli.predicted_auc.toFixed(2), 'AUC with 2 decimals');
    // No model loaded: a published set chosen by hand is no mismatch, and fixes the target.
    assert.equal(await page.locator('#set-warning').count(), 0);
    assert.equal(await page.inputValue('select#target-family'), family);
    for (const [target, budget] of Object.entries(cli.budgets)) {
      const cell = page.locator(`#budget-table tbody tr[data-target="${target}"] td.budget`);
      const value = Number(await cell.getAttribute('data-value'));
      assert.ok(Math.abs(value - budget) <= 1e-9 * Math.max(1, budget), `target ${target}: page ${value} vs CLI ${budget}`);
      const shown = Number((await cell.textContent()).replace(/[^0-9]/g, ''));
      assert.equal(shown, roundBudget(budget), `target ${target}: shown ${shown}, CLI ${budget}`);
    }
    assert.ok(await page.locator('svg#forecast-chart path').count() >= 2, 'the chart draws a curve and its band');
  }
  await page.selectOption('select#coef-set', 'llama-3.1-8b-instruct');
  await page.fill('input#coslow', '0.65');
  await page.locator('input#coslow').press('Enter');
  // About 1,000 labeled examples: more than the 120 rows of this pool, and the page says so.
  await page.waitForSelector('#pool-note');
  assert.match(await page.textContent('#pool-note'), /^1,000 labeled examples for 90% is more than the 120 rows in your pool: annotate all of them and expect to need more data\./);
  assert.match(await page.textContent('#step-forecast .headline'), /^About 1,000 labeled examples to reach 90%/);
  await page.screenshot({ path: path.join(SHOTS, 'forecast-1280x800.png'), fullPage: true });
  await page.context().close();
});

test('hostile files get one clear message naming the file and line, and no panic', async () => {
  const page = await openPage();
  const load = async (name, buffer) => {
    await page.setInputFiles('#file-input', { name, mimeType: 'text/plain', buffer: Buffer.from(buffer) });
    await page.waitForFunction((n) => (document.querySelector('#file-status')?.textContent ?? '').includes(n)
      && !/Reading|Checking/.test(document.querySelector('#file-status').textContent), name, { timeout: 30_000 });
    return { status: await page.textContent('#file-status'), errors: await page.locator('#errors li').allTextContents() };
  };
  let r = await load('empty.csv', '');
  assert.match(r.status, /empty\.csv could not be used/);
  assert.match(r.errors.join('\n'), /empty\.csv: the file is empty/);

  r = await load('header-only.csv', 'id,prompt\n');
  assert.match(r.status, /header-only\.csv — 0 rows/);
  assert.match(await page.textContent('#step-data'), /header but no rows/);
  assert.match(await page.textContent('#step-confidence'), /has no rows/);

  // A spreadsheet (a zip) renamed .csv: one problem, not one per line.
  const zip = Buffer.concat([Buffer.from('PK\x03\x04\x14\x00\x06\x00', 'latin1'), Buffer.alloc(4096, 7), Buffer.from([0, 0xff, 10, 0xfe])]);
  r = await load('sheet.csv', zip);
  assert.match(r.status, /sheet\.csv could not be used — 1 problem/);
  assert.match(r.status, /Your pool header-only\.csv and the work on it are unchanged/, 'a rejected file keeps the pool');
  assert.match(r.errors[0], /line 1: .*not a text file/);

  r = await load('one-bad.jsonl', '{"prompt": "a"}\n{"prompt": "b"}\n{"prompt": oops}\n{"prompt": "d"}\n');
  assert.equal(r.errors.length, 1, r.errors.join('\n'));
  assert.match(r.errors[0], /^line 3\b.*JSON/);

  const cell = 'x'.repeat(4_000_000);
  r = await load('huge-cell.csv', `id,prompt\n1,${cell}\n2,short\n`);
  assert.match(r.status, /huge-cell\.csv — 2 rows/);
  const shown = await page.locator('#preview table tbody tr').first().textContent();
  assert.ok(shown.length < 1000 && shown.includes('…'), `the preview cuts the huge cell (${shown.length} characters)`);

  // A labels file that cannot be used says why, with its name and line.
  await page.setInputFiles('#labels-drop-input', { name: 'labels.jsonl', mimeType: 'text/plain', buffer: Buffer.from('{"prompt": "short", "answer": "a"}\n{bad\n') });
  await page.waitForSelector('#labels-fill-message.error-text');
  assert.match(await page.textContent('#labels-fill-message'), /labels\.jsonl, line 2/);
  await page.context().close();
});

test('a 100,000-row pool parses off the main thread, scrolls windowed, and keeps its labels across a reload and a replace', { timeout: 600_000 }, async () => {
  await runLargePoolChecks({ browser, baseUrl, fixtures: FIXTURES, outDir: path.join(ROOT, 'tests/e2e/out') });
});

test('a full browser storage keeps the labels and says so; an older session moves to IndexedDB; another tab\'s unseen label is named', { timeout: 300_000 }, async () => {
  await runStorageFullChecks({ browser, baseUrl });
});

test('invalid forecast input shows the reason instead of numbers', async () => {
  const page = await openPage();
  await page.selectOption('select#coef-set', 'custom');
  await page.fill('input#coef-slope', '0.9');
  await page.fill('input#coef-intercept', '0.5');
  await page.fill('input#coslow', '0.8');
  await page.locator('input#coslow').press('Enter');
  await page.waitForFunction(() => /between 0 and 1|outside/i.test(document.querySelector('#forecast-error')?.textContent ?? ''), null, { timeout: 10_000 });
  await page.fill('input#coslow', '1.5');
  await page.locator('input#coslow').press('Enter');
  await page.waitForFunction(() => /\[-1, 1\]/.test(document.querySelector('#forecast-error')?.textContent ?? ''), null, { timeout: 10_000 });
  await page.context().close();
});

test('readable at phone width, keyboard reachable, privacy stated', async () => {
  const page = await openPage({ width: 390, height: 844 });
  const note = await page.locator('#privacy-note').textContent();
  assert.match(note, /never leave/i);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `page scrolls sideways at 390px by ${overflow}px`);
  // The drop zone opens the picker from the keyboard: it must be focusable.
  await page.focus('#drop-zone');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'drop-zone');
  await page.screenshot({ path: path.join(SHOTS, 'phone-390.png'), fullPage: true });
  await page.context().close();
});

test('the Content-Security-Policy blocks connections to any other origin', async () => {
  // 127.0.0.2 is another origin on this machine's loopback: if the policy failed, the request
  // would be recorded by the off-host check below (and still never leave the machine).
  const page = await openPage(undefined, { collectConsole: false });
  const outcome = await page.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    let fetched = 'sent';
    try { await fetch('http://127.0.0.2:9/probe'); } catch { fetched = 'blocked'; }
    await new Promise((r) => setTimeout(r, 100));
    return { fetched, violations };
  });
  assert.equal(outcome.fetched, 'blocked');
  assert.ok(outcome.violations.some((d) => d.startsWith('connect-src')), JSON.stringify(outcome));
  const policy = await page.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.content ?? '');
  assert.match(policy, /default-src 'self'/);
  assert.doesNotMatch(policy, /script-src[^;]*'unsafe-inline'/);
  await page.context().close();
});

test('the whole workflow with the real SmolLM2 model gives the CLI\'s numbers', { timeout: 1_800_000 }, async () => {
  assert.ok(fs.existsSync(path.join(DIST, 'models/SmolLM2-135M-Instruct.Q4_1.gguf')),
    'dist/models has no default model: run scripts/fetch-model.sh, then scripts/build-web.sh');
  await runWorkflow({ openPage, root: ROOT, bin: BIN, shots: SHOTS, model: MODEL, baseUrl });
});

test('a model URL on Hugging Face downloads, is kept and loads; other hosts are refused', { timeout: 600_000 }, async () => {
  await runHubChecks({ openPage, launch, model: MODEL, shots: SHOTS });
});

test('a safetensors model from disk: missing or wrong files are named, shards load, the set scores like the CLI', { timeout: 600_000 }, async () => {
  await runModelFileChecks({ openPage, root: ROOT, bin: BIN, shots: SHOTS });
});

test('a model download that will not fit in the browser\'s free storage stops before it starts, naming both sizes', { timeout: 300_000 }, async () => {
  await runStorageCheck({ openPage });
});

test('after a first visit the app and the default model work offline', { timeout: 300_000 }, async () => {
  const page = await openPage();
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
  await page.click('#load-default-model');
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  await page.context().setOffline(true);
  await page.reload();
  await page.waitForSelector('#drop-zone', { timeout: 60_000 });
  await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
  await page.waitForSelector('#cached-models li', { timeout: 30_000 });
  await page.click('#load-default-model');
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  // A pool dropped offline is parsed by the parse worker, whose script was precached.
  assert.ok(await page.evaluate(async () => (await caches.match('parse-worker.js?js=x', { ignoreSearch: true })) !== undefined), 'parse-worker.js is precached');
  await page.setInputFiles('#file-input', path.join(FIXTURES, 'pool_good.csv'));
  await page.waitForFunction(() => /120 rows/.test(document.querySelector('#file-status')?.textContent ?? ''), null, { timeout: 60_000 });
  await page.screenshot({ path: path.join(SHOTS, 'offline.png') });
  await page.context().close();
});

test('served without the relaxed-SIMD worker (trunk serve), the plain worker starts and is kept for offline use', { timeout: 300_000 }, async () => {
  const plain = await startServer(DIST, 0, { hide: ['labelcast-worker-fma'] });
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const url = `http://127.0.0.1:${plain.address().port}/`;
    await page.goto(url);
    await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
    // A service worker whose install failed never takes control.
    await page.waitForFunction(() => navigator.serviceWorker.controller !== null, null, { timeout: 30_000 });
    const cached = await page.evaluate(async () => {
      const keys = await (await caches.open('labelcast-app-v1')).keys();
      return keys.map((r) => new URL(r.url).pathname.slice(1));
    });
    assert.ok(cached.includes('labelcast-worker_bg.wasm'), `the plain worker is precached: ${cached}`);
    assert.ok(!cached.some((n) => n.startsWith('labelcast-worker-fma')), `nothing of the missing build: ${cached}`);
    await context.setOffline(true);
    await page.reload();
    await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
  } finally {
    await context.close();
    plain.close();
  }
});

// Only the load: SmolLM2's weights go to SwiftShader's WebGPU and the page says so (scoring on
// a software adapter would take long; the GPU's numbers are checked by the wasm-bindgen tests).
test('choosing WebGPU loads the model on the WebGPU adapter, and CPU back on the CPU', { timeout: 300_000 }, async () => {
  const page = await openPage();
  await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
  await page.selectOption('#backend-choice', 'webgpu');
  await page.click('#load-default-model');
  await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout: 180_000 });
  assert.equal(await page.getAttribute('#model-status', 'data-state'), 'ready', await page.textContent('#model-status'));
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'webgpu');
  assert.match(await page.textContent('#backend-reason'), /You chose WebGPU/);
  await page.screenshot({ path: path.join(SHOTS, 'backend-webgpu.png') });
  // Switching loads the same model again, on the CPU this time.
  await page.selectOption('#backend-choice', 'cpu');
  await page.waitForFunction(() => /You chose the CPU/.test(document.querySelector('#backend-reason')?.textContent ?? ''), null, { timeout: 180_000 });
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 180_000 });
  assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
  await page.context().close();
});

test('a 1.4 GB GGUF dropped from disk streams onto WebGPU: the worker holds a fraction of it, and scores like the CLI', { timeout: 2_400_000 }, async () => {
  await runBigModelCheck({ openPage, root: ROOT, bin: BIN, shots: SHOTS });
});

test('no request left 127.0.0.1 and the page logged no errors', () => {
  assert.deepEqual(offHost, [], `requests that left 127.0.0.1: ${offHost.join(', ')}`);
  const csp = consoleErrors.filter((t) => /Content Security Policy|Refused to/i.test(t));
  assert.deepEqual(csp, [], `CSP violations: ${csp.join('\n')}`);
  assert.deepEqual(consoleErrors, [], `console errors: ${consoleErrors.join('\n')}`);
});
