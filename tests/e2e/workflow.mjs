// The whole workflow with the real SmolLM2 model, as a person goes through it: load the
// model, drop a pool, score it (cancel once: the worker keeps the model), label the 32 rows
// with the keyboard, reload (the labels stay), compute CoS-Low, read the forecast, export the
// next batch and the training order, add labels for other rows from a file (they join the
// training order and leave the next batch), score a sample and let the page score the labeled
// rows outside it. Every number is checked against the CLI on the same rows.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const POOL_ROWS_EVERY = Number(process.env.LABELCAST_E2E_EVERY ?? 3); // 67 of the 200 prompts

/** RFC 4180 CSV (quoted fields may hold commas, quotes and newlines) as objects by header. */
export function readCsv(file) {
  const text = fs.readFileSync(file, 'utf8');
  const rows = [];
  let row = [], cur = '', q = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (q) {
      if (c === '"' && text[i + 1] === '"') { cur += '"'; i++; } else if (c === '"') q = false; else cur += c;
    } else if (c === '"') q = true;
    else if (c === ',') { row.push(cur); cur = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(cur); rows.push(row); row = []; cur = '';
    } else cur += c;
  }
  if (cur !== '' || row.length) { row.push(cur); rows.push(row); }
  const [head, ...body] = rows;
  return body.map((r) => Object.fromEntries(head.map((h, i) => [h, r[i] ?? ''])));
}

export function csvField(s) {
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Samples Chromium's resident memory (all its processes), to report the peak. */
function chromiumRss() {
  try {
    const out = execFileSync('ps', ['-C', 'chromium', '-o', 'rss='], { encoding: 'utf8' });
    return out.split('\n').map(Number).filter(Boolean).reduce((a, b) => a + b, 0) * 1024;
  } catch {
    return 0;
  }
}

/** labelcast_core::forecast::round_budget: two significant digits from 100 up, as shown. */
export function roundBudget(b) {
  if (!(b > 0)) return 0;
  if (b < 100) return Math.round(b);
  const scale = 10 ** (Math.floor(Math.log10(b)) - 1);
  return Math.round(b / scale) * scale;
}

/** Waits until the page's predicted AUC' (its exact value) is the CLI's. */
export async function waitForAuc(page, auc) {
  await page.waitForFunction((want) => {
    const v = Number(document.querySelector('#predicted-auc')?.dataset.value);
    return Math.abs(v - want) <= 1e-9;
  }, auc, { timeout: 10_000 });
}

async function saveDownload(page, button, dir) {
  const [download] = await Promise.all([page.waitForEvent('download', { timeout: 30_000 }), page.click(button)]);
  const file = path.join(dir, download.suggestedFilename());
  await download.saveAs(file);
  return file;
}

export async function runWorkflow({ openPage, root, bin, shots, model, baseUrl }) {
  const out = path.join(root, 'tests/e2e/out');
  fs.mkdirSync(out, { recursive: true });
  const pool = readCsv(path.join(root, 'tests/data/pool.csv'));
  const answers = new Map(readCsv(path.join(root, 'tests/data/answers.csv')).map((r) => [r.id, r.answer]));
  const answerOf = new Map(pool.map((r) => [r.prompt, answers.get(r.id)]));
  const sample = pool.filter((_, i) => i % POOL_ROWS_EVERY === 0);
  const samplePath = path.join(out, 'pool-sample.csv');
  fs.writeFileSync(samplePath, ['id,prompt,category', ...sample.map((r) => [r.id, r.prompt, r.category].map(csvField).join(','))].join('\n') + '\n');

  let peakRss = 0;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, chromiumRss()); }, 500);
  const timings = {};
  try {
    const t0 = Date.now();
    let page = await openPage();

    // 0. Backend and model.
    await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
    // Auto keeps the CPU: headless Chromium's only WebGPU adapter is SwiftShader, a software one.
    assert.equal(await page.getAttribute('#backend', 'data-backend'), 'cpu');
    assert.match(await page.textContent('#backend-reason'), /software/);
    await page.click('#load-default-model');
    await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout: 120_000 });
    assert.equal(await page.getAttribute('#model-status', 'data-state'), 'ready', await page.textContent('#model-status'));
    // SmolLM2 has no published set: its calibrated sets when the shipped calibration has enough
    // tasks (a long run keeps adding them), else none.
    assert.match(await page.textContent('#coef-match'), /has coefficients calibrated by labelcast|No coefficients exist for/);
    // The model's GGUF general.name, with the file it came from.
    assert.equal(await page.textContent('#model-name'), 'Smollm2 135M 8k Lc100K Mix1 Ep2');
    assert.equal(await page.textContent('#model-source'), ' (SmolLM2-135M-Instruct.Q4_1.gguf)');
    timings.model_ready_s = (Date.now() - t0) / 1000;
    // On the CPU the page starts helper workers, one per core (this machine's cores, and a
    // quarter of its memory, allowing): each loads the model and scores a share of the prompts.
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    if (cores >= 2) {
      await page.waitForFunction(() => Number(document.querySelector('#backend')?.dataset.workers) >= 2, null, { timeout: 60_000 });
      timings.workers = Number(await page.getAttribute('#backend', 'data-workers'));
      assert.match(await page.textContent('#backend'), new RegExp(`^CPU · ${timings.workers} workers compute at once$`));
      // Each helper holds its own copy of the model, and the page says how much that takes.
      await page.waitForFunction(() => Number(document.querySelector('#worker-memory')?.dataset.helperBytes) > 0, null, { timeout: 30_000 });
      timings.helper_memory_loaded_mb = Math.round(Number(await page.getAttribute('#worker-memory', 'data-helper-bytes')) / 2 ** 20);
      assert.match(await page.textContent('#worker-memory'), /the helpers that compute beside it hold [\d.]+ MiB more, each with its own copy of the model/);
    }
    const memory = async () => {
      await page.waitForTimeout(300); // the memory report follows the job's reply
      return Math.round(Number(await page.getAttribute('#worker-memory', 'data-bytes')) / 2 ** 20);
    };
    timings.worker_memory_loaded_mb = await memory();
    await page.screenshot({ path: path.join(shots, 'model.png') });

    // 1. Data.
    await page.setInputFiles('#file-input', samplePath);
    await page.waitForFunction((n) => new RegExp(`${n} rows`).test(document.querySelector('#file-status')?.textContent ?? ''), sample.length);

    // 2. Confidence: start, cancel once the first prompt is done, start again and let it finish.
    // The workers stop at their next decode step and keep the model: no new worker, no reload.
    const workersStarted = [];
    page.on('worker', (w) => workersStarted.push(w.url()));
    await page.click('#score-run');
    await page.waitForFunction(() => Number(document.querySelector('#score-progress')?.dataset.done ?? 0) > 0, null, { timeout: 120_000 });
    const tCancel = Date.now();
    await page.click('#score-progress-cancel');
    await page.waitForSelector('#score-progress-cancel[data-stopping="true"]');
    // The prompts finished before the cancel are kept and shown, not thrown away.
    await page.waitForSelector('#scores-cancelled', { timeout: 120_000 });
    timings.cancel_s = (Date.now() - tCancel) / 1000;
    const keptRows = Number(await page.getAttribute('#scores', 'data-rows'));
    assert.ok(keptRows > 0 && keptRows < sample.length, `kept ${keptRows}`);
    assert.equal(await page.textContent('#scores-cancelled'), `Scoring was cancelled after ${keptRows} of ${sample.length} prompts; the scores of those are kept below.`);
    assert.equal(await page.getAttribute('#model-status', 'data-state'), 'ready', 'the model stays loaded after a cancel');
    assert.deepEqual(workersStarted, [], 'a cancel answered in time starts no new worker');
    const ts = Date.now();
    await page.click('#score-run');
    await page.waitForSelector('#score-progress');
    await page.screenshot({ path: path.join(shots, 'confidence-running.png') });
    await page.waitForFunction(() => (document.querySelector('#scores') && !document.querySelector('#scores-cancelled'))
      || document.querySelector('#score-error'), null, { timeout: 600_000 });
    timings.scoring_s = (Date.now() - ts) / 1000;
    timings.prompts = sample.length;
    timings.worker_memory_scored_mb = await memory();
    assert.equal(Number(await page.getAttribute('#scores', 'data-rows')), sample.length);
    assert.deepEqual(workersStarted, [], 'scored again in the same worker, with the same model');
    // The estimate now uses this computer's pace with this model (kept for later pools too).
    const pace = timings.scoring_s / sample.length;
    await page.waitForFunction(() => /at the pace measured on this computer for this model/.test(document.querySelector('#score-estimate')?.textContent ?? ''), null, { timeout: 10_000 });
    const estimate = await page.textContent('#score-estimate');
    assert.ok(/about (\d+ min \d+ s|\d+ s) for/.test(estimate) && pace > 0, estimate);
    const marked = await page.$$eval('#confidence-histogram g[data-marked]', (gs) => gs.reduce((a, g) => a + Number(g.dataset.marked), 0));
    assert.equal(marked, Math.ceil(sample.length / 10), 'the bottom decile is highlighted');
    await page.locator('#step-confidence').screenshot({ path: path.join(shots, 'confidence.png') });

    // The page's rows to label equal `labelcast select` on the same pool (the same batch size,
    // the CLI's default).
    const toLabel = await page.$$eval('#label-list li .prompt-text', (els) => els.map((e) => e.textContent));
    assert.equal(toLabel.length, 32);
    const selOut = path.join(out, 'cli-to-label.csv');
    execFileSync(bin, ['select', '--model', model, '--data', samplePath, '--k', '32', '--seed', '0', '--out', selOut]);
    const cliRows = readCsv(selOut).map((r) => r.prompt);
    assert.deepEqual(toLabel, cliRows, 'rows to label differ from the CLI');

    // 3. Annotate with the keyboard: type, Enter, next.
    for (let i = 0; i < toLabel.length; i++) {
      const answer = answerOf.get(toLabel[i]);
      assert.ok(answer, `no answer for ${toLabel[i]}`);
      if (i === 0) await page.focus('#label-0');
      assert.equal(await page.evaluate(() => document.activeElement?.id), `label-${i}`);
      await page.keyboard.type(answer);
      await page.keyboard.press('Enter');
    }
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'coslow-run', 'Enter after the last row goes to the CoS-Low button');
    assert.equal(await page.getAttribute('#label-count', 'data-labeled'), '32');
    await page.locator('#step-annotation').screenshot({ path: path.join(shots, 'annotate.png') });
    const labeledCsv = await saveDownload(page, '#labels-export', out);

    // A reload keeps the pool, the scores and the labels; the model is loaded again, from the
    // browser's cache this time (no request for it), and listed there with its size.
    await page.reload();
    await page.waitForSelector('#label-list li', { timeout: 60_000 });
    const kept = await page.$$eval('#label-list input', (els) => els.map((e) => e.value));
    assert.deepEqual(kept, toLabel.map((p) => answerOf.get(p)), 'labels after a reload');
    await page.waitForSelector('#cached-models li[data-url$="SmolLM2-135M-Instruct.Q4_1.gguf"]');
    assert.match(await page.textContent('#cached-models li'), /93\.8 MiB/);
    const modelRequests = [];
    page.on('request', (r) => { if (r.url().endsWith('.gguf')) modelRequests.push(r.url()); });
    await page.click('#load-default-model');
    await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
    assert.deepEqual(modelRequests, [], 'the cached model is not downloaded again');

    // No CoS-Low yet: no forecast.
    assert.match(await page.textContent('#forecast-empty'), /No forecast yet/);
    assert.equal(await page.locator('#step-forecast .headline').count(), 0);

    // 4. CoS-Low, against the CLI on the same 32 rows. With helpers, it is split between the
    // workers (each computes the gradients of its share; the main worker keeps them all).
    if (timings.workers) {
      await page.waitForSelector(`#backend[data-workers="${timings.workers}"]`, { timeout: 60_000 });
    }
    // Cancelled once it is under way: every worker stops at its next pack and keeps the model.
    const workersBefore = workersStarted.length;
    await page.click('#coslow-run');
    await page.waitForFunction(() => Number(document.querySelector('#coslow-progress')?.dataset.done ?? 0) > 0, null, { timeout: 120_000 });
    const tcc = Date.now();
    await page.click('#coslow-progress-cancel');
    await page.waitForFunction(() => /CoS-Low was cancelled\./.test(document.querySelector('#step-coslow')?.textContent ?? ''), null, { timeout: 60_000 });
    timings.coslow_cancel_s = (Date.now() - tcc) / 1000;
    assert.equal(workersStarted.length, workersBefore, 'a cancelled CoS-Low starts no new worker');
    assert.equal(await page.getAttribute('#model-status', 'data-state'), 'ready', 'the model stays loaded after a cancel');
    const tc = Date.now();
    await page.click('#coslow-run');
    await page.waitForSelector('#coslow-result, #coslow-error', { timeout: 600_000 });
    timings.coslow_s = (Date.now() - tc) / 1000;
    assert.equal(Number(await page.getAttribute('#coslow-result', 'data-workers')), timings.workers ?? 1, 'CoS-Low split between the workers');
    const pageCoslow = Number(await page.getAttribute('#coslow-result', 'data-coslow'));
    timings.worker_memory_coslow_mb = await memory();
    timings.open_to_forecast_s = (Date.now() - t0) / 1000;
    const cli = JSON.parse(execFileSync(bin, ['forecast', '--model', model, '--data', labeledCsv, '--family', 'llama-3.1-8b-instruct', '--json'], { encoding: 'utf8' }));
    // The same gradients kept whole (a second run in the same workers too, after the cancel):
    // only the packing differs (the page packs 128 tokens, the CLI 512), a float rounding.
    assert.equal(await page.locator('#coslow-sketch').count(), 0, "SmolLM2's gradients are kept whole");
    assert.ok(Math.abs(pageCoslow - cli.coslow) <= 1e-5, `CoS-Low: page ${pageCoslow}, CLI ${cli.coslow}`);
    assert.equal(await page.textContent('#coslow-value'), pageCoslow.toFixed(3), 'CoS-Low with 3 decimals');
    await page.locator('#step-coslow').screenshot({ path: path.join(shots, 'coslow.png') });

    // 5. Forecast: the set for the loaded model, chosen by the page; CoS-Low with 3 decimals.
    assert.equal(await page.inputValue('select#coef-set'), 'auto');
    assert.equal(await page.inputValue('input#coslow'), pageCoslow.toFixed(3));
    // The shipped calibration (all 22 tasks) has a set for SmolLM2, chosen by the page as the
    // CLI chooses it: a budget, its sentence, its chart.
    const auto = JSON.parse(execFileSync(bin, ['forecast', '--model', model, '--coslow', String(cli.coslow), '--json'], { encoding: 'utf8' }));
    assert.equal(auto.coefficient_set.kind, 'proxy', 'the CLI picks the proxy set by itself');
    await page.waitForSelector('#calibration-chart svg');
    assert.match(await page.textContent('#set-sentence'), /^On 22 of the paper's tasks, SmolLM2-135M-Instruct's CoS-Low /);
    assert.equal(await page.textContent('#set-sentence'), auto.coefficient_set.sentence);
    assert.equal(await page.locator('#set-warning').count(), 0);
    const shipped90 = roundBudget(auto.budgets['0.9']).toLocaleString('en-US');
    assert.match(await page.textContent('#step-forecast .headline'), new RegExp(`^About ${shipped90} labeled examples to reach 90%`));
    await page.locator('#step-forecast').screenshot({ path: path.join(shots, 'forecast-shipped.png') });

    // A calibration file of calibrate-suite (a synthetic one, so the numbers do not depend on the
    // shipped run) applies to the model it names, before the shipped sets.
    const calFile = path.join(root, 'tests/fixtures/calibration-smollm2.json');
    await page.setInputFiles('#calibration-file', calFile);
    await page.waitForSelector('#calibration-message');
    assert.match(await page.textContent('#calibration-message'), /^calibration-smollm2\.json: the calibration of SmolLM2-135M-Instruct \(synthetic test fixture\) on 10 tasks/);
    await page.waitForFunction(() => /calibration-smollm2\.json/.test(document.querySelector('#set-sentence')?.textContent ?? ''));
    assert.match(await page.textContent('#set-sentence'), /^Fitted on 10 of the paper's tasks: predicting a task it had not seen, this fit missed Llama 3\.1 8B-Instruct's measured data efficiency/);
    assert.equal(await page.inputValue('select#target-family'), 'llama-3.1-8b-instruct', "core's default target");
    assert.equal(await page.locator('#set-warning').count(), 0, 'the model\'s own set: no warning');
    assert.match(await page.textContent('#calibration-chart svg'), new RegExp(`your task ${pageCoslow.toFixed(3).replace('.', '\\.')}`));
    const proxy = JSON.parse(execFileSync(bin, ['forecast', '--coslow', String(pageCoslow), '--calibration', calFile,
      '--proxy', 'smollm2-135m-instruct', '--json'], { encoding: 'utf8' }));
    assert.equal(proxy.coefficient_set.kind, 'proxy');
    await waitForAuc(page, proxy.predicted_auc);
    for (const [target, budget] of Object.entries(proxy.budgets)) {
      const cell = page.locator(`#budget-table tbody tr[data-target="${target}"] td.budget`);
      const value = Number(await cell.getAttribute('data-value'));
      assert.ok(Math.abs(value - budget) <= 1e-9 * Math.max(1, budget), `proxy, target ${target}: page ${value}, CLI ${budget}`);
      assert.equal(Number((await cell.textContent()).replace(/[^0-9]/g, '')), roundBudget(budget), `proxy, target ${target} as shown`);
    }
    const key = roundBudget(proxy.budgets['0.9']).toLocaleString('en-US');
    assert.match(await page.textContent('#step-forecast .headline'), new RegExp(`^About ${key} labeled examples to reach 90%`));
    assert.match(await page.textContent('#pool-note'), new RegExp(`^${key} labeled examples for 90% is more than the ${sample.length} rows in your pool: annotate all of them and expect to need more data`));
    await page.locator('#step-forecast').screenshot({ path: path.join(shots, 'forecast-measured.png') });
    const proxyHtml = fs.readFileSync(await saveDownload(page, '#report-html', out), 'utf8');
    assert.ok(proxyHtml.includes('your task ') && proxyHtml.includes('(proxy)'), 'the HTML report has the set and its calibration chart');

    // Fine-tuning Mistral: this set does not beat the average task, and says so.
    await page.selectOption('select#target-family', 'mistral-7b-instruct-v0.3');
    await page.waitForFunction(() => /did not predict/.test(document.querySelector('#set-sentence')?.textContent ?? ''));
    assert.match(await page.textContent('#set-sentence'), /so this is the budget of an average task/);
    await page.selectOption('select#target-family', 'llama-3.1-8b-instruct');

    // Advanced: a published family on SmolLM2's CoS-Low is still possible, with a warning.
    await page.selectOption('select#coef-set', 'llama-3.1-8b-instruct');
    await page.waitForSelector('#set-warning');
    assert.match(await page.textContent('#set-warning'), /^Llama 3\.1 8B-Instruct coefficients were fitted on CoS-Low computed by Llama 3\.1 8B-Instruct itself; Smollm2 135M 8k Lc100K Mix1 Ep2 computes CoS-Low on another scale, so this forecast is not calibrated/);
    assert.match(cli.coefficient_set.warning ?? '', /computes CoS-Low on another scale/, 'the CLI warns too');
    const same = JSON.parse(execFileSync(bin, ['forecast', '--coslow', String(pageCoslow), '--family', 'llama-3.1-8b-instruct', '--json'], { encoding: 'utf8' }));
    await waitForAuc(page, same.predicted_auc);
    for (const [target, budget] of Object.entries(same.budgets)) {
      const value = Number(await page.getAttribute(`#budget-table tbody tr[data-target="${target}"] td.budget`, 'data-value'));
      assert.ok(Math.abs(value - budget) <= 1e-9 * Math.max(1, budget), `target ${target}: page ${value}, CLI ${budget}`);
      const own = cli.budgets[target];
      assert.ok(Math.abs(value - own) / own < 0.02, `target ${target}: page ${value}, CLI on its own CoS-Low ${own}`);
    }
    assert.match(await page.textContent('#step-forecast .headline'), /About .* labeled examples to reach 90%/);
    await page.locator('#step-forecast').screenshot({ path: path.join(shots, 'forecast-published-warning.png') });
    const reportText = fs.readFileSync(await saveDownload(page, '#report-json', out), 'utf8');
    const report = JSON.parse(reportText);
    assert.equal(report.coslow, pageCoslow);
    assert.equal(report.coslow_shown, pageCoslow.toFixed(3));
    assert.equal(report.coefficient_set.kind, 'published');
    assert.match(report.coefficient_set.warning, /another scale/);
    // wasm's and the native libm's pow/ln may differ in the last bit, as in the table check.
    assert.ok(Math.abs(report.budgets['0.9'].budget - same.budgets['0.9']) <= 1e-9 * same.budgets['0.9']);
    assert.equal(report.budgets['0.9'].shown, roundBudget(report.budgets['0.9'].budget));
    assert.equal(report.measured_on_this_page.examples, 32);
    assert.ok(!sample.some((r) => reportText.includes(r.prompt)), 'the report holds no rows');
    // The readable report: one HTML file with the page's chart, the JSON report's budgets, no rows.
    const htmlText = fs.readFileSync(await saveDownload(page, '#report-html', out), 'utf8');
    // Opened as a page of its own (as a person opens the file): parsing it inside the app would
    // put its inline <style> under the app's Content-Security-Policy.
    const viewer = await page.context().newPage();
    await viewer.setContent(htmlText);
    const parsed = await viewer.evaluate(() => {
      const doc = document;
      const budgets = Object.fromEntries([...doc.querySelectorAll('#budgets tr[data-target]')]
        .map((tr) => [tr.dataset.target, Number(tr.querySelector('td.budget').dataset.value)]));
      return {
        title: doc.title, svgs: doc.querySelectorAll('svg').length, paths: doc.querySelectorAll('svg path').length,
        targets: doc.querySelectorAll('svg g.target').length, budgets, body: doc.body.textContent,
        external: doc.querySelectorAll('link, script, img, [src]').length,
        warning: doc.querySelector('#set-warning')?.textContent ?? '',
      };
    });
    await viewer.close();
    assert.equal(parsed.title, 'labelcast forecast report');
    assert.equal(parsed.svgs, 1, 'a published set has no calibration chart');
    assert.ok(parsed.paths >= 2 && parsed.targets === 5, 'the report draws the curve, its band and the budget markers');
    assert.equal(parsed.external, 0, 'the report is one self-contained file');
    assert.match(parsed.warning, /^Warning: Llama 3\.1 8B-Instruct coefficients were fitted/);
    assert.deepEqual(Object.keys(parsed.budgets).sort(), Object.keys(report.budgets).sort());
    for (const [target, b] of Object.entries(report.budgets)) assert.equal(parsed.budgets[target], b.budget, `report budget ${target}`);
    assert.match(parsed.body, /Smollm2 135M 8k Lc100K Mix1 Ep2 \(SmolLM2-135M-Instruct\.Q4_1\.gguf\)/);
    assert.match(parsed.body, new RegExp(`${sample.length} rows`));
    assert.ok(!sample.some((r) => htmlText.includes(r.prompt)), 'the HTML report holds no prompt');
    assert.ok(![...answerOf.values()].some((a) => a && a.length > 3 && htmlText.includes(`>${a}<`)), 'the HTML report holds no label');

    // 6. Next batch and training order.
    await page.fill('#next-k', '20');
    const next = readCsv(await saveDownload(page, '#next-export', out));
    assert.equal(next.length, 20);
    assert.ok(next.every((r) => !toLabel.includes(r.prompt) && r.avg_confidence !== undefined), 'the next batch excludes labeled rows and carries scores');
    await page.selectOption('#order-strategy', 'curriculum');
    const ordered = readCsv(await saveDownload(page, '#order-export-csv', out));
    assert.equal(ordered.length, 32);
    assert.ok(ordered.every((r) => r.answer === answerOf.get(r.prompt)), 'ordered rows carry their labels');
    const diffs = ordered.map((r) => Number(r.model_difficulty));
    assert.deepEqual(diffs, [...diffs].sort((a, b) => a - b), 'curriculum: easiest first');
    const jsonl = fs.readFileSync(await saveDownload(page, '#order-export-jsonl', out), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(jsonl.length, 32);
    await page.locator('#step-next').screenshot({ path: path.join(shots, 'next.png') });

    // A stray binary dropped as the pool after all this work: refused, and nothing is touched
    // (the pool, the scores, the 32 labels, CoS-Low).
    await page.setInputFiles('#file-input', { name: 'stray.bin', mimeType: 'application/octet-stream',
      buffer: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(2048, 0xfe)]) });
    // With labels typed, a new file first asks (offering the labels' export); keeping the pool
    // changes nothing, and saying yes to a file that cannot be used changes nothing either.
    await page.waitForSelector('#replace-confirm');
    assert.match(await page.textContent('#replace-question'), new RegExp(`^Replace ${path.basename(samplePath).replace('.', '\\.')} with stray\\.bin\\? Its scores, CoS-Low and the 32 labels you typed go with it`));
    const exported = readCsv(await saveDownload(page, '#replace-export', out));
    assert.equal(exported.filter((r) => r.answer).length, 32, 'the offered export holds the 32 labels');
    await page.click('#replace-no');
    assert.equal(await page.locator('#replace-confirm').count(), 0);
    await page.setInputFiles('#file-input', { name: 'stray.bin', mimeType: 'application/octet-stream',
      buffer: Buffer.concat([Buffer.from('PK\x03\x04', 'latin1'), Buffer.alloc(2048, 0xfe)]) });
    await page.click('#replace-yes');
    await page.waitForFunction(() => /stray\.bin could not be used/.test(document.querySelector('#file-status')?.textContent ?? ''), null, { timeout: 30_000 });
    assert.match(await page.textContent('#file-status'), /and the work on it are unchanged/);
    assert.equal(await page.textContent('#coslow-value'), pageCoslow.toFixed(3), 'CoS-Low survives a rejected file');
    assert.equal(readCsv(await saveDownload(page, '#order-export-csv', out)).length, 32, 'the 32 labels survive a rejected file');
    assert.equal(readCsv(await saveDownload(page, '#next-export', out)).length, 20, 'the scores survive a rejected file');

    // A model URL on another origin, not a model host, is refused before any request (the CSP
    // would block it).
    await page.fill('#model-url', 'http://127.0.0.2:9/model.gguf');
    await page.click('#model-url-load');
    await page.waitForSelector('#model-status[data-state="failed"]');
    assert.match(await page.textContent('#model-status'), /downloads models only from its own server and from huggingface\.co/);
    // The server's policy also covers the worker, whose script is not governed by the page.
    const csp = await page.evaluate(async () => (await fetch('worker-loader.js')).headers.get('content-security-policy'));
    assert.match(csp ?? '', /connect-src 'self'/);

    // Bad files: a renamed non-GGUF model, a labels file without answers.
    const fake = path.join(out, 'not-a-model.gguf');
    fs.writeFileSync(fake, 'id,prompt\n1,hello\n');
    await page.setInputFiles('#model-file', fake);
    await page.waitForFunction(() => /not-a-model\.gguf: not a GGUF model file/.test(document.querySelector('#model-status[data-state="failed"]')?.textContent ?? ''), null, { timeout: 60_000 });
    await page.setInputFiles('#labels-import', samplePath);
    await page.waitForSelector('#import-message.error-text');
    assert.match(await page.textContent('#import-message'), /no answer column/);
    // Re-importing the exported labels restores them all.
    await page.setInputFiles('#labels-import', labeledCsv);
    await page.waitForFunction(() => /Imported 32 labels/.test(document.querySelector('#import-message')?.textContent ?? ''));

    // A file of already-labeled rows fills the matching pool rows (by prompt text here: it has
    // no id column), names the rows it could not place, and keeps labels already entered.
    // The three rows the next batch ranked first: once labeled, they must leave it.
    const others = next.slice(0, 3).map((n) => sample.find((r) => r.prompt === n.prompt));
    const labelsPath = path.join(out, 'already-labeled.csv');
    fs.writeFileSync(labelsPath, ['prompt,answer',
      [toLabel[0], answerOf.get(toLabel[0])], [toLabel[1], 'a different answer'],
      ...others.map((r) => [r.prompt, answerOf.get(r.prompt)]),
      ['Not in the pool at all?', 'x'], ['Nor this one?', 'y'],
    ].map((r) => (Array.isArray(r) ? r.map(csvField).join(',') : r)).join('\n') + '\n');
    await page.setInputFiles('#labels-drop-input', labelsPath);
    await page.waitForSelector('#labels-fill-message');
    const fillText = await page.textContent('#labels-fill-message');
    assert.match(fillText, /already-labeled\.csv: 5 rows matched the pool \(by prompt text\); 3 labels filled, 1 already there\./);
    assert.match(fillText, /2 rows are not in the pool \(lines 7, 8\)/);
    assert.match(fillText, /1 pool row has a different label already; kept the existing one \(pool line \d+ vs already-labeled\.csv line 3\)/);
    assert.equal(await page.inputValue('#label-1'), answerOf.get(toLabel[1]), 'a label already entered is kept');

    // Labeled rows outside the 32 join the training order and leave the next batch.
    await page.waitForSelector('#order-labeled[data-rows="35"][data-unscored="0"]');
    const ordered35 = readCsv(await saveDownload(page, '#order-export-csv', out));
    assert.equal(ordered35.length, 35);
    for (const r of others) {
      const row = ordered35.find((o) => o.prompt === r.prompt);
      assert.ok(row, `${r.prompt} is missing from the training order`);
      assert.equal(row.answer, answerOf.get(r.prompt));
      assert.ok(Number.isFinite(Number(row.model_difficulty)) && row.model_difficulty !== '');
    }
    const diffs35 = ordered35.map((r) => Number(r.model_difficulty));
    assert.deepEqual(diffs35, [...diffs35].sort((a, b) => a - b), 'curriculum: easiest first');
    const next2 = readCsv(await saveDownload(page, '#next-export', out));
    assert.equal(next2.length, 20);
    assert.ok(next2.every((r) => !toLabel.includes(r.prompt) && !others.some((o) => o.prompt === r.prompt)), 'the next batch leaves out every labeled row');
    assert.deepEqual(next2.slice(0, 17).map((r) => r.prompt), next.slice(3).map((r) => r.prompt), 'the rest of the ranking is unchanged');
    // The CLI agrees: the same next batch from the same scores and labels.
    const labeledScores = path.join(out, 'scores-labeled.csv');
    const answerFor = new Map([...toLabel, ...others.map((r) => r.prompt)].map((p) => [p, answerOf.get(p)]));
    const both = [...new Map(next.concat(next2).map((r) => [r.prompt, r])).values()];
    fs.writeFileSync(labeledScores, ['prompt,answer,mean_entropy', ...both.map((r) => [r.prompt, answerFor.get(r.prompt) ?? '', r.mean_entropy].map(csvField).join(','))].join('\n') + '\n');
    const cliNext = path.join(out, 'cli-next.csv');
    execFileSync(bin, ['select', '--scores', labeledScores, '--k', '17', '--strategy', 'mean-entropy', '--exclude-labeled', '--out', cliNext]);
    assert.deepEqual(readCsv(cliNext).map((r) => r.prompt), next2.slice(0, 17).map((r) => r.prompt), 'the CLI ranks the unlabeled rows as the page does');

    // Scored on a sample, labeled rows outside it have no confidence yet: the page scores them
    // in the worker (with progress), and their scores survive a reload.
    await page.click('#load-default-model');
    await page.waitForSelector('#model-status[data-state="ready"]', { timeout: 120_000 });
    // Loading the model again keeps the chosen coefficients.
    assert.equal(await page.inputValue('select#coef-set'), 'llama-3.1-8b-instruct');
    await page.fill('#sample-size', '34');
    await page.click('#score-run');
    await page.waitForSelector('#scores[data-rows="34"]', { timeout: 600_000 });
    const unscored = Number(await page.getAttribute('#order-labeled', 'data-unscored'));
    assert.ok(unscored > 0 && unscored < 35, `labeled rows outside the sample: ${unscored}`);
    assert.match(await page.textContent('#order-labeled'), /outside the scored sample/);
    const partial = readCsv(await saveDownload(page, '#order-export-csv', out));
    assert.equal(partial.length, 35 - unscored);
    assert.match(await page.textContent('#next-message'), new RegExp(`Left out: ${unscored} labeled rows? (is|are) outside the scored sample`));
    await page.click('#order-score-labeled');
    await page.waitForSelector('#order-labeled[data-unscored="0"]', { timeout: 600_000 });
    assert.equal(await page.$('#order-score-progress'), null);
    await page.reload();
    await page.waitForSelector('#order-labeled[data-rows="35"][data-unscored="0"]', { timeout: 60_000 });
    // A reload keeps the forecast's choices and the calibration file.
    assert.equal(await page.inputValue('select#coef-set'), 'llama-3.1-8b-instruct');
    assert.equal(await page.inputValue('select#target-family'), 'llama-3.1-8b-instruct');
    assert.equal(await page.getAttribute('#calibration-files li', 'data-file'), 'calibration-smollm2.json');
    await page.selectOption('#order-strategy', 'curriculum');
    const full = readCsv(await saveDownload(page, '#order-export-csv', out));
    assert.equal(full.length, 35);
    assert.ok(full.every((r) => r.model_difficulty !== '' && r.answer === answerOf.get(r.prompt)));

    // Deleting the cached model empties the list.
    await page.click('#cached-models .cached-delete');
    await page.waitForSelector('#cached-models', { state: 'detached' });
    timings.peak_chromium_rss_mb = Math.round(peakRss / 2 ** 20);
    fs.writeFileSync(path.join(out, 'timings.json'), JSON.stringify({ ...timings, page_coslow: pageCoslow, cli_coslow: cli.coslow }, null, 2));
    console.log('workflow timings', JSON.stringify(timings));
    await page.context().close();
  } finally {
    clearInterval(sampler);
  }
}
