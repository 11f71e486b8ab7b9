// A measurement, not a test (CI does not run it): does Chromium ask its autofill service about
// the page's inputs? Serves dist/, opens the page with a net-log, loads the sample pool, types
// into the inputs, and counts autofill queries and the hosts the browser process contacted.
// Run: node tests/e2e/netlog_autofill.mjs [extra chromium flags]
// With the policies of README "A locked-down machine" in /etc/chromium/policies/managed/ the
// autofill count is 0; without them it is ~20-30 (Chromium 156, 2026-12-03).
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const server = await startServer(path.join(ROOT, 'dist'), 0);
const log = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'labelcast-netlog-')), 'netlog.json');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless=new', '--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--log-net-log=${log}`, ...process.argv.slice(2)],
});
const page = await (await browser.newContext()).newPage();
await page.goto(`http://127.0.0.1:${server.address().port}/`);
await page.waitForSelector('#drop-zone', { timeout: 60_000 });
await page.setInputFiles('#file-input', path.join(ROOT, 'tests/data/pool.csv'));
await page.waitForTimeout(3000);
for (const sel of ['#model-url', '#coslow', '#sample-size', '#sample-seed']) {
  if (await page.locator(sel).count()) {
    await page.click(sel);
    await page.keyboard.type('12');
  }
}
await page.waitForTimeout(5000);
await browser.close();
server.close();
const text = fs.readFileSync(log, 'utf8');
const hosts = new Set([...text.matchAll(/"(?:url|host)":"(?:https?:\/\/)?([^/":]+)/g)].map((m) => m[1]));
const autofill = (text.match(/autofill\.googleapis\.com\/v1\/pages/g) ?? []).length;
console.log(JSON.stringify({ chromium_flags: process.argv.slice(2), autofill_queries: autofill, hosts: [...hosts] }));
