// Where the model worker spends its time while scoring: samples it with the browser's own CPU
// profiler (DevTools protocol, attached to the worker) and prints the functions with the most
// self time. A documented measuring command, not a test.
//
//   scripts/build-web.sh
//   node --experimental-websocket tests/e2e/profile_worker.mjs [PROMPTS] [BATCH]
//
// Scores the first PROMPTS (default 64) prompts of tests/data/pool.csv on one CPU worker
// (?workers=1) at batch BATCH (default 32), and writes tests/e2e/out/worker-profile.json
// (the top functions) and worker.cpuprofile (the whole profile, for DevTools' Performance tab).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServer } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.join(ROOT, 'tests/e2e/out');
const [prompts = 64, batch = 32] = process.argv.slice(2).map(Number);
const PORT = 9300 + Math.floor(Math.random() * 500);

// The DevTools protocol over one WebSocket, sessions flattened.
function devtools(url) {
  const ws = new WebSocket(url);
  let id = 0;
  const waiting = new Map();
  const listeners = [];
  ws.onmessage = (e) => {
    const m = JSON.parse(e.data);
    if (m.id && waiting.has(m.id)) {
      const { resolve, reject } = waiting.get(m.id);
      waiting.delete(m.id);
      m.error ? reject(new Error(JSON.stringify(m.error))) : resolve(m.result);
    } else listeners.forEach((f) => f(m));
  };
  const opened = new Promise((r) => { ws.onopen = r; });
  return {
    opened,
    on: (f) => listeners.push(f),
    send: (method, params = {}, sessionId) => new Promise((resolve, reject) => {
      waiting.set(++id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }));
    }),
    close: () => ws.close(),
  };
}

const server = await startServer(path.join(ROOT, 'dist'), 0);
const base = `http://127.0.0.1:${server.address().port}/`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--remote-debugging-port=${PORT}`],
});
try {
  const page = await browser.newPage();
  await page.goto(`${base}?workers=1&batch=${batch}`);
  await page.click('#load-default-model');
  await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
  const pool = fs.readFileSync(path.join(ROOT, 'tests/data/pool.csv'), 'utf8').trim().split('\n');
  const file = path.join(OUT, 'profile-pool.csv');
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(file, pool.slice(0, prompts + 1).join('\n') + '\n');
  await page.setInputFiles('#file-input', file);
  await page.waitForFunction((n) => new RegExp(`${n} rows`).test(document.querySelector('#file-status')?.textContent ?? ''), String(prompts));

  const version = await (await fetch(`http://127.0.0.1:${PORT}/json/version`)).json();
  const cdp = devtools(version.webSocketDebuggerUrl);
  await cdp.opened;
  const { targetInfos } = await cdp.send('Target.getTargets');
  // The model worker runs the engine (the parse worker is another dedicated worker).
  const workers = targetInfos.filter((t) => t.type === 'worker' && /worker-loader/.test(t.url));
  if (workers.length !== 1) throw new Error(`expected one model worker, found ${JSON.stringify(targetInfos.map((t) => [t.type, t.url]))}`);
  const { sessionId } = await cdp.send('Target.attachToTarget', { targetId: workers[0].targetId, flatten: true });
  await cdp.send('Profiler.enable', {}, sessionId);
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 }, sessionId);
  await cdp.send('Profiler.start', {}, sessionId);
  const t = Date.now();
  await page.click('#score-run');
  await page.waitForSelector(`#scores[data-rows="${prompts}"]`, { timeout: 1_800_000 });
  const seconds = (Date.now() - t) / 1000;
  const { profile } = await cdp.send('Profiler.stop', {}, sessionId);
  cdp.close();
  fs.writeFileSync(path.join(OUT, 'worker.cpuprofile'), JSON.stringify(profile));

  // Self time per function: the samples whose leaf is that function.
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  const gaps = profile.timeDeltas;
  profile.samples.forEach((id, i) => {
    const f = byId.get(id).callFrame;
    const name = f.functionName || `(${f.url ? path.basename(f.url) : 'program'})`;
    self.set(name, (self.get(name) ?? 0) + (gaps[i + 1] ?? 0) / 1000);
  });
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const top = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, 40)
    .map(([name, ms]) => ({ name, ms: Math.round(ms), share: +(ms / total).toFixed(4) }));
  fs.writeFileSync(path.join(OUT, 'worker-profile.json'), JSON.stringify({ prompts, batch, seconds, sampled_ms: Math.round(total), top }, null, 2));
  console.log(`scored ${prompts} prompts in ${seconds} s; sampled ${Math.round(total)} ms`);
  for (const r of top.slice(0, 25)) console.log(`${(100 * r.share).toFixed(1).padStart(5)} %  ${r.name}`);
} finally {
  await browser.close();
  server.close();
}
