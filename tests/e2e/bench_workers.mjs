// Scoring speed of the page on the CPU, with one worker and with the pool, against the native
// CLI on one thread, side by side in one run (issue 14's measurements). Not part of the test
// suite: a documented command whose output goes into docs/benchmarks/browser.md.
//
//   cargo build --release -p labelcast-cli && scripts/build-web.sh
//   LABELCAST_BIN=target/release/labelcast node tests/e2e/bench_workers.mjs [CONFIG...]
//
// CONFIG is WORKERSxBATCH (default: 1x32 2x32, the page's batch size): each opens a fresh
// page at ?workers=W&batch=B, loads the default model, drops tests/data/pool.csv (200
// prompts) and times the scoring of all of it. The 32 rows the page then picks must be the
// same for every worker count at one batch size (a split run computes each row as one worker
// does). CONFIG forecast:N times a whole visit instead: open the page, load the model, drop
// a pool of N rows (tests/data/pool.csv, repeated with the copies' prompts marked), score it,
// fill the 32 rows to label from tests/data/answers.csv, run CoS-Low and wait for the
// forecast; forecast:NxW does it with W workers (?workers=W), and the CLI then computes
// CoS-Low of the same 32 labeled rows on one thread, timed beside it. Writes
// tests/e2e/out/bench-workers.json (LABELCAST_BENCH_OUT: another file).
// LABELCAST_DIST serves another build of the app (another dist/); LABELCAST_BENCH_CLI=0 leaves
// the CLI out (for a second build measured right after the first). LABELCAST_BENCH_CONSOLE=1
// prints the page's and its workers' console on stderr.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';
import { csvField, readCsv } from './workflow.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.LABELCAST_BIN ?? path.join(ROOT, 'target/release/labelcast');
const MODEL = path.join(ROOT, 'models/SmolLM2-135M-Instruct.Q4_1.gguf');
const POOL = path.join(ROOT, 'tests/data/pool.csv');
const OUT = path.join(ROOT, 'tests/e2e/out');
const configs = (process.argv.slice(2).length ? process.argv.slice(2) : ['1x32', '2x32']).map((c) => {
  if (c.startsWith('forecast:')) {
    const [n, workers] = c.slice(9).split('x').map(Number);
    return { forecast: n, workers };
  }
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

/** Page open → forecast for a pool of `n` rows, with the labels typed by a file. */
async function timeToForecast(browser, base, n, workers) {
  const pool = readCsv(POOL);
  const answers = new Map(readCsv(path.join(ROOT, 'tests/data/answers.csv')).map((r) => [r.id, r.answer]));
  const rows = Array.from({ length: n }, (_, i) => {
    const r = pool[i % pool.length], copy = Math.floor(i / pool.length);
    return { id: `${r.id}-${copy}`, prompt: copy ? `${r.prompt} (${copy + 1})` : r.prompt, answer: answers.get(r.id) };
  });
  fs.mkdirSync(OUT, { recursive: true });
  const poolFile = path.join(OUT, `bench-pool-${n}.csv`);
  fs.writeFileSync(poolFile, ['id,prompt', ...rows.map((r) => [r.id, r.prompt].map(csvField).join(','))].join('\n') + '\n');
  const context = await browser.newContext();
  const p = await context.newPage();
  if (process.env.LABELCAST_BENCH_CONSOLE === '1') p.on('console', (m) => console.error(`[page] ${m.text()}`));
  const t0 = Date.now();
  const at = {};
  await p.goto(workers ? `${base}?workers=${workers}` : base);
  await p.waitForSelector('#drop-zone', { timeout: 60_000 });
  await p.click('#load-default-model');
  await p.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  at.model_ready_s = (Date.now() - t0) / 1000;
  if (workers) await p.waitForSelector(`#backend[data-workers="${workers}"]`, { timeout: 60_000 });
  await p.setInputFiles('#file-input', poolFile);
  await p.waitForFunction((n) => new RegExp(`${n} rows`).test(document.querySelector('#file-status')?.textContent ?? ''), String(n));
  const ts = Date.now();
  await p.click('#score-run');
  await p.waitForSelector(`#scores[data-rows="${n}"]`, { timeout: 1_800_000 });
  at.scoring_s = (Date.now() - ts) / 1000;
  // Helpers still loading when scoring starts take their share once loaded.
  at.workers = Number(await p.getAttribute('#backend', 'data-workers'));
  const toLabel = await p.$$eval('#label-list li .prompt-text', (els) => els.map((e) => e.textContent));
  const byPrompt = new Map(rows.map((r) => [r.prompt, r.answer]));
  const labels = path.join(OUT, `bench-labels-${n}.csv`);
  fs.writeFileSync(labels, ['prompt,answer', ...toLabel.map((t) => [t, byPrompt.get(t)].map(csvField).join(','))].join('\n') + '\n');
  await p.setInputFiles('#labels-drop-input', labels);
  await p.waitForSelector('#label-count[data-labeled="32"]', { timeout: 30_000 });
  const tc = Date.now();
  await p.click('#coslow-run');
  await p.waitForSelector('#step-forecast .headline', { timeout: 600_000 });
  at.coslow_s = (Date.now() - tc) / 1000;
  at.open_to_forecast_s = (Date.now() - t0) / 1000;
  at.coslow_workers = Number(await p.getAttribute('#coslow-result', 'data-workers'));
  at.coslow = Number(await p.getAttribute('#coslow-result', 'data-coslow'));
  at.labels = labels;
  await context.close();
  return at;
}

const server = await startServer(process.env.LABELCAST_DIST ?? path.join(ROOT, 'dist'), 0);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const results = { machine: `${os.cpus().length} cores, ${os.cpus()[0]?.model}`, runs: [] };
try {
  const batches = process.env.LABELCAST_BENCH_CLI === '0' ? [] : [...new Set(configs.filter((c) => c.batch).map((c) => c.batch))];
  for (const batch of batches) {
    const before = load();
    const seconds = cli(batch);
    results.runs.push({ what: `native CLI, 1 thread, batch ${batch}`, seconds, per_prompt: seconds / 200, load_before: before, load_after: load() });
    console.log(JSON.stringify(results.runs.at(-1)));
  }
  const picked = new Map();
  const coslowCli = new Set();
  for (const c of configs.filter((c) => c.forecast)) {
    const before = load();
    const r = await timeToForecast(browser, base, c.forecast, c.workers);
    const what = `page open → forecast, ${c.forecast} rows${c.workers ? `, ${c.workers} worker(s)` : ''}`;
    results.runs.push({ what, ...r, load_before: before, load_after: load() });
    console.log(JSON.stringify(results.runs.at(-1)));
    if (process.env.LABELCAST_BENCH_CLI !== '0' && !coslowCli.has(r.labels)) {
      // The CLI's CoS-Low of the same 32 labeled rows, on one thread.
      const before = load();
      const t = Date.now();
      const out = JSON.parse(execFileSync(BIN, ['forecast', '--model', MODEL, '--data', r.labels, '--backend', 'cpu', '--json'], {
        env: { ...process.env, RAYON_NUM_THREADS: '1', CANDLE_NUM_THREADS: '1' }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'],
      }));
      coslowCli.add(r.labels);
      results.runs.push({ what: 'native CLI forecast (CoS-Low of the same 32 rows), 1 thread', seconds: (Date.now() - t) / 1000, coslow: out.coslow, load_before: before, load_after: load() });
      console.log(JSON.stringify(results.runs.at(-1)));
    }
  }
  for (const c of configs.filter((c) => !c.forecast && c.batch)) {
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
results.dist = process.env.LABELCAST_DIST ?? 'dist';
fs.writeFileSync(process.env.LABELCAST_BENCH_OUT ?? path.join(OUT, 'bench-workers.json'), JSON.stringify(results, null, 2));
