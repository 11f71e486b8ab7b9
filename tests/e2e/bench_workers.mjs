// Scoring speed of the page on the CPU, with one worker and with the pool, against the native
// CLI on one thread, side by side in one run (issue 14's measurements). Not part of the test
// suite: a documented command whose output goes into docs/benchmarks/browser.md.
//
//   cargo build --release -p labelcast-cli && scripts/build-web.sh
//   LABELCAST_BIN=target/release/labelcast node tests/e2e/bench_workers.mjs [CONFIG...]
//
// CONFIG is WORKERSxBATCH (default: 1x8 2x8, the page's batch size): each opens a fresh
// page at ?workers=W&batch=B, loads the default model, drops tests/data/pool.csv (200
// prompts) and times the scoring of all of it. The 32 rows the page then picks must be the
// same for every worker count at one batch size (a split run computes each row as one worker
// does). Writes tests/e2e/out/bench-workers.json.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.LABELCAST_BIN ?? path.join(ROOT, 'target/release/labelcast');
const MODEL = path.join(ROOT, 'models/SmolLM2-135M-Instruct.Q4_1.gguf');
const POOL = path.join(ROOT, 'tests/data/pool.csv');
const OUT = path.join(ROOT, 'tests/e2e/out');
const configs = (process.argv.slice(2).length ? process.argv.slice(2) : ['1x8', '2x8']).map((c) => {
  const [workers, batch] = c.split('x').map(Number);
  assert.ok(workers >= 1 && batch >= 1, `CONFIG is WORKERSxBATCH, not ${c}`);
  return { workers, batch };
});
const load = () => os.loadavg()[0].toFixed(2);

function cli(batch) {
  fs.mkdirSync(OUT, { recursive: true });
  const out = path.join(OUT, `bench-cli-${batch}.csv`);
  const t = Date.now();
  execFileSync(BIN, ['score', '--model', MODEL, '--data', POOL, '--backend', 'cpu', '--batch-size', String(batch), '--out', out], {
    env: { ...process.env, RAYON_NUM_THREADS: '1', CANDLE_NUM_THREADS: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return (Date.now() - t) / 1000;
}

async function page(browser, base, { workers, batch }) {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(`${base}?workers=${workers}&batch=${batch}`);
  await p.waitForSelector('#drop-zone', { timeout: 60_000 });
  await p.click('#load-default-model');
  await p.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  await p.waitForSelector(`#backend[data-workers="${workers}"]`, { timeout: 60_000 });
  await p.setInputFiles('#file-input', POOL);
  await p.waitForFunction(() => /200 rows/.test(document.querySelector('#file-status')?.textContent ?? ''));
  const t = Date.now();
  await p.click('#score-run');
  await p.waitForSelector('#scores[data-rows="200"]', { timeout: 1_800_000 });
  const seconds = (Date.now() - t) / 1000;
  const toLabel = await p.$$eval('#label-list li .prompt-text', (els) => els.map((e) => e.textContent));
  await context.close();
  return { seconds, toLabel };
}

const server = await startServer(path.join(ROOT, 'dist'), 0);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const results = { machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`, runs: [] };
try {
  for (const batch of [...new Set(configs.map((c) => c.batch))]) {
    const before = load();
    const seconds = cli(batch);
    results.runs.push({ what: `native CLI, 1 thread, batch ${batch}`, seconds, per_prompt: seconds / 200, load_before: before, load_after: load() });
    console.log(JSON.stringify(results.runs.at(-1)));
  }
  const picked = new Map();
  for (const c of configs) {
    const before = load();
    const r = await page(browser, base, c);
    results.runs.push({ what: `page, ${c.workers} worker(s), batch ${c.batch}`, seconds: r.seconds, per_prompt: r.seconds / 200, load_before: before, load_after: load() });
    console.log(JSON.stringify(results.runs.at(-1)));
    if (picked.has(c.batch)) assert.deepEqual(r.toLabel, picked.get(c.batch), `rows to label at batch ${c.batch}`);
    else picked.set(c.batch, r.toLabel);
  }
} finally {
  await browser.close();
  server.close();
}
fs.writeFileSync(path.join(OUT, 'bench-workers.json'), JSON.stringify(results, null, 2));
