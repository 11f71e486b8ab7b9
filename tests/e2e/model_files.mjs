// A safetensors model picked or dropped from disk (tests/reference/models/tiny-llama: the
// files the CLI reads from a folder): missing and wrong files get one message naming them, a
// sharded copy (made here) loads when all its shards are given, and the whole set loads and
// scores the pool, choosing the same rows to label as `labelcast select` on the same folder.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from './workflow.mjs';

const FILES = ['model.safetensors', 'config.json', 'tokenizer.json', 'tokenizer_config.json'];

/** Splits a safetensors file's tensors into `n` shards plus the index transformers writes. */
function shard(src, dir, n) {
  const bytes = fs.readFileSync(src);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString('utf8'));
  const data = bytes.subarray(8 + len);
  const names = Object.keys(header).filter((k) => k !== '__metadata__');
  const files = [];
  const weightMap = {};
  for (let s = 0; s < n; s++) {
    const file = `model-${String(s + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
    const mine = names.filter((_, i) => i % n === s);
    const out = {};
    const parts = [];
    let at = 0;
    for (const name of mine) {
      const t = header[name];
      const part = data.subarray(t.data_offsets[0], t.data_offsets[1]);
      out[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [at, at + part.length] };
      parts.push(part);
      at += part.length;
      weightMap[name] = file;
    }
    const head = Buffer.from(JSON.stringify(out));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(head.length));
    fs.writeFileSync(path.join(dir, file), Buffer.concat([size, head, ...parts]));
    files.push(file);
  }
  const index = { metadata: { total_size: data.length }, weight_map: weightMap };
  fs.writeFileSync(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
  return files;
}

/** Drops files on the model's drop zone the way a person's drag and drop does. */
async function dropFiles(page, paths) {
  const files = paths.map((p) => ({ name: path.basename(p), b64: fs.readFileSync(p).toString('base64') }));
  const dt = await page.evaluateHandle((files) => {
    const dt = new DataTransfer();
    for (const f of files) {
      const bin = atob(f.b64);
      const bytes = new Uint8Array(bin.length);
      for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
      dt.items.add(new File([bytes], f.name));
    }
    return dt;
  }, files);
  for (const type of ['dragenter', 'dragover', 'drop']) {
    await page.dispatchEvent('#model-drop', type, { dataTransfer: dt });
  }
}

/** A file for setInputFiles, which takes paths or buffers but not both in one call. */
function asFile(p) {
  return { name: path.basename(p), mimeType: 'application/octet-stream', buffer: fs.readFileSync(p) };
}

async function settled(page, timeout = 120_000) {
  await page.waitForSelector('#model-status[data-state="ready"], #model-status[data-state="failed"]', { timeout });
  return { state: await page.getAttribute('#model-status', 'data-state'), text: await page.textContent('#model-status') };
}

export async function runModelFileChecks({ openPage, root, bin, shots }) {
  const tiny = path.join(root, 'tests/reference/models/tiny-llama');
  const out = path.join(root, 'tests/e2e/out/model-files');
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out, { recursive: true });
  const page = await openPage();
  await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });

  // Missing and wrong files: one message, naming them; nothing reaches the worker.
  await page.setInputFiles('#model-file', [path.join(tiny, 'model.safetensors'), path.join(tiny, 'tokenizer.json')]);
  let s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /^config\.json is missing: a safetensors model needs/);
  await page.setInputFiles('#model-file', [
    { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('<!doctype html><title>Hugging Face</title>') },
    asFile(path.join(tiny, 'config.json')), asFile(path.join(tiny, 'tokenizer.json')),
  ]);
  s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /^model\.safetensors is not a safetensors file: it is a web page/);

  // Hostile files (issue 13): a chat template that loops without end is refused at load,
  // naming its file and the limit, within seconds; a GGUF header claiming 2^62 tensors is refused
  // before anything is allocated. The page stays usable: the next load below succeeds.
  const looping = JSON.parse(fs.readFileSync(path.join(tiny, 'tokenizer_config.json'), 'utf8'));
  looping.chat_template = '{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}';
  const t0 = Date.now();
  await page.setInputFiles('#model-file', [
    ...['model.safetensors', 'config.json', 'tokenizer.json'].map((f) => asFile(path.join(tiny, f))),
    { name: 'tokenizer_config.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(looping)) },
  ]);
  s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /tokenizer_config\.json did not finish within 200,000 steps/);
  assert.ok(Date.now() - t0 < 60_000, `refused after ${Date.now() - t0} ms`);
  const forged = Buffer.alloc(64);
  forged.write('GGUF', 0, 'latin1');
  forged.writeUInt32LE(3, 4);
  forged.writeBigUInt64LE(1n << 62n, 8);
  await page.setInputFiles('#model-file', { name: 'forged.gguf', mimeType: 'application/octet-stream', buffer: forged });
  s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /forged\.gguf.*tensor count 4611686018427387904/);

  // A sharded copy: a missing shard is named; dropped together with its index, it loads.
  const shards = shard(path.join(tiny, 'model.safetensors'), out, 2);
  const rest = ['config.json', 'tokenizer.json', 'tokenizer_config.json'].map((f) => path.join(tiny, f));
  await page.setInputFiles('#model-file', [path.join(out, shards[0]), path.join(out, 'model.safetensors.index.json'), ...rest]);
  s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /^model-00002-of-00002\.safetensors is missing \(model\.safetensors\.index\.json lists 2 shards\)/);
  await dropFiles(page, [...shards.map((f) => path.join(out, f)), path.join(out, 'model.safetensors.index.json'), ...rest]);
  s = await settled(page);
  assert.equal(s.state, 'ready', s.text);
  assert.equal(await page.textContent('#model-name'), 'model-00001-of-00002.safetensors (2 shards)');
  assert.match(s.text, /llama architecture, 2 layers, hidden size 64, vocabulary 512/);

  // The folder's files, chosen together (plus one the engine does not read): loads, says
  // which coefficient set applies and what was left out, and scores.
  const extra = { name: 'generation_config.json', mimeType: 'application/json', buffer: Buffer.from('{"do_sample": false}') };
  await page.setInputFiles('#model-file', [...FILES.map((f) => asFile(path.join(tiny, f))), extra]);
  s = await settled(page);
  assert.equal(s.state, 'ready', s.text);
  assert.equal(await page.textContent('#model-name'), 'model.safetensors');
  assert.match(await page.textContent('#coef-match'), /^No coefficients exist for model\.safetensors \(neither published nor calibrated/);
  assert.match(await page.textContent('#model-url-note'), /Not used: generation_config\.json\./);
  await page.locator('#step-model').screenshot({ path: path.join(shots, 'model-safetensors.png') });

  // A model with no set at all: its CoS-Low gets the average task of a calibration's suite (here
  // the synthetic test file's), plainly labelled, with no calibration chart (another model's axis).
  await page.setInputFiles('#calibration-file', path.join(root, 'tests/fixtures/calibration-smollm2.json'));
  await page.waitForSelector('#calibration-message');
  await page.fill('input#coslow', '0.3');
  await page.waitForSelector('#step-forecast .headline');
  assert.match(await page.textContent('#step-forecast .headline'), /^About .* labeled examples to reach 90% of the performance fine-tuning can attain for an average task of the paper's suite \(not your data\)/);
  assert.match(await page.textContent('#set-sentence'), /^No coefficients exist for model\.safetensors \(neither published nor calibrated with labelcast calibrate-suite\): this is the budget of an average task/);
  assert.equal(await page.locator('#calibration-chart').count(), 0);
  assert.equal(await page.locator('#set-warning').count(), 0);

  const pool = path.join(root, 'tests/data/pool.csv');
  await page.setInputFiles('#file-input', pool);
  await page.waitForFunction(() => /200 rows/.test(document.querySelector('#file-status')?.textContent ?? ''), null, { timeout: 30_000 });
  await page.click('#score-run');
  await page.waitForSelector('#scores, #score-error', { timeout: 300_000 });
  assert.equal(Number(await page.getAttribute('#scores', 'data-rows')), 200, await page.textContent('#step-confidence'));
  const toLabel = await page.$$eval('#label-list li .prompt-text', (els) => els.map((e) => e.textContent));
  assert.ok(toLabel.length > 0, 'no rows to label');
  const selOut = path.join(out, 'cli-to-label.csv');
  execFileSync(bin, ['select', '--model', tiny, '--data', pool, '--k', '32', '--seed', '0', '--out', selOut], { stdio: ['ignore', 'ignore', 'pipe'] });
  assert.deepEqual(toLabel, readCsv(selOut).map((r) => r.prompt), 'rows to label differ from the CLI');

  // A prompt longer than the model's context (512 tokens) is cut to fit and scored, not fatal
  // to the job, and the results say so; the CLI cuts the same rows.
  const longPool = path.join(out, 'long-pool.csv');
  fs.writeFileSync(longPool, `id,prompt\nq1,What is 2+2?\nq2,${'the quick brown fox jumps over the lazy dog '.repeat(300)}\nq3,Capital of France?\n`);
  await page.setInputFiles('#file-input', longPool);
  await page.waitForFunction(() => /3 rows/.test(document.querySelector('#file-status')?.textContent ?? ''), null, { timeout: 30_000 });
  await page.click('#score-run');
  await page.waitForSelector('#scores, #score-error', { timeout: 300_000 });
  assert.equal(Number(await page.getAttribute('#scores', 'data-rows')), 3, await page.textContent('#step-confidence'));
  assert.match(await page.textContent('#scores-cut'), /1 prompt was longer than the model's context: cut to fit, so it is scored on its beginning/);
  const cli = JSON.parse(execFileSync(bin, ['score', '--model', tiny, '--data', longPool, '--out', path.join(out, 'long-scores.csv'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(cli.cut, 1);
  // Skipped instead, as the person chose: no score, never to label; the CLI skips the same row.
  await page.selectOption('#long-rows', 'skip');
  await page.click('#score-run');
  await page.waitForSelector('#scores-skipped, #score-error', { timeout: 300_000 });
  assert.match(await page.textContent('#scores-skipped'), /1 prompt was longer than the model's context and skipped: no confidence, never picked to label/);
  assert.equal(await page.locator('#scores-cut').count(), 0);
  const skippedToLabel = await page.$$eval('#label-list li .prompt-text', (els) => els.map((e) => e.textContent));
  assert.deepEqual(skippedToLabel.sort(), ['Capital of France?', 'What is 2+2?']);
  const cliSkip = JSON.parse(execFileSync(bin, ['score', '--model', tiny, '--data', longPool, '--long-prompts', 'skip', '--out', path.join(out, 'long-skipped.csv'), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  assert.equal(cliSkip.skipped, 1);

  // A task instruction typed on the page is each row's system message: the rows to label show
  // it, and their confidences are the CLI's with --instruction (not those without it).
  const instruction = 'Answer in one word.';
  await page.fill('#task-instruction', instruction);
  // The results are taken down while scoring runs: a marked #scores is the previous run's.
  await page.evaluate(() => document.querySelector('#scores').setAttribute('data-previous', ''));
  await page.click('#score-run');
  await page.waitForSelector('#scores:not([data-previous])', { timeout: 300_000 });
  assert.deepEqual(await page.$$eval('#label-list .label-instruction', (els) => els.map((e) => e.textContent)), [`Instruction: ${instruction}`, `Instruction: ${instruction}`]);
  const metas = await page.$$eval('#label-list li', (els) => els.map((e) => [e.querySelector('.prompt-text').textContent, e.querySelector('.label-meta').textContent]));
  const cliScores = (extra) => {
    const file = path.join(out, 'instruction-scores.csv');
    execFileSync(bin, ['score', '--model', tiny, '--data', longPool, '--long-prompts', 'skip', '--out', file, ...extra], { stdio: ['ignore', 'ignore', 'pipe'] });
    return new Map(readCsv(file).map((r) => [r.prompt, Number(r.avg_confidence).toFixed(3)]));
  };
  const withIt = cliScores(['--instruction', instruction]);
  const without = cliScores([]);
  assert.equal(metas.length, 2);
  for (const [prompt, meta] of metas) {
    assert.match(meta, new RegExp(`confidence ${withIt.get(prompt).replace('.', '\\.')} `), `${prompt}: ${meta}`);
  }
  assert.ok(metas.some(([prompt]) => withIt.get(prompt) !== without.get(prompt)), 'the instruction changes the scores');
  // Scores made with another instruction are flagged until scored again.
  assert.equal(await page.locator('#scores-stale').count(), 0);
  await page.fill('#task-instruction', 'Answer in two words.');
  await page.waitForSelector('#scores-stale');
  await page.fill('#task-instruction', ` ${instruction} `);
  await page.waitForSelector('#scores-stale', { state: 'detached' });
  await page.context().close();
}

/** A model download that will not fit in the browser's free storage does not start. */
export async function runStorageCheck({ openPage }) {
  const page = await openPage();
  // 40 MiB free: less than the default model's 93.8 MiB (the server sends its Content-Length).
  await page.addInitScript(() => {
    navigator.storage.estimate = async () => ({ quota: 50 * 2 ** 20, usage: 10 * 2 ** 20 });
  });
  await page.reload();
  await page.waitForSelector('#backend[data-backend]', { timeout: 60_000 });
  const requests = [];
  page.on('request', (r) => { if (r.url().endsWith('.gguf')) requests.push(r.url()); });
  await page.click('#load-default-model');
  const s = await settled(page);
  assert.equal(s.state, 'failed', s.text);
  assert.match(s.text, /SmolLM2-135M-Instruct\.Q4_1\.gguf is 93\.8 MiB, but this browser has only 40\.0 MiB of storage free for this page, so it was not downloaded/);
  // The request was made (its headers give the size) but the body was not read into storage.
  assert.equal((await page.$$('#cached-models li')).length, 0, 'nothing is kept');
  assert.ok(requests.length <= 1, requests.join('\n'));
  await page.context().close();
}

