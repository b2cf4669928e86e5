#!/usr/bin/env node
// `npm run bench:browser`: builds the benchmark page (bench/vite.config.ts), serves it with `vite preview` on
// 127.0.0.1, runs it in headless Chromium with WebGPU (Playwright, the system Chromium), prints the table and
// writes bench/results/browser.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { build, preview } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configFile = join(root, 'bench', 'vite.config.ts');
// Building, compiling pipelines and timing every case on both implementations; 1024³ is seconds a rep on a CPU adapter.
const RUN_TIMEOUT_MS = 15 * 60_000;

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

await build({ configFile, logLevel: 'warn' });
console.log(`bench:browser: page built in ${seconds()} s`);
const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0, open: false }, logLevel: 'warn' });
const url = server.resolvedUrls?.local[0];
if (!url) throw new Error('vite preview did not report a URL');

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  args: CHROMIUM_ARGS,
});
let exitCode = 0;
try {
  const page = await browser.newPage();
  page.on('console', (msg) => console.log(`  [page] ${msg.text()}`));
  page.on('pageerror', (error) => console.error(`  [page error] ${error.message}`));
  await page.goto(url);
  await page.waitForFunction(() => window.benchResult || window.benchError, null, { timeout: RUN_TIMEOUT_MS, polling: 500 });
  const error = await page.evaluate(() => window.benchError);
  if (error) throw new Error(`the benchmark page failed: ${error}`);
  const result = await page.evaluate(() => window.benchResult);

  const file = join(root, 'bench', 'results', 'browser.json');
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result.rows, null, 2)}\n`);

  console.log(`\nadapter: ${result.adapter} (tfjs reports: ${result.tfjsAdapter})`);
  console.log("timing: median of single repetitions after warm-up, each ended by waiting for that side's GPU queue; f32");
  console.log(result.table);
  console.log("<peer>/ours = the peer's time / our time: above 1 means cosmos-web is faster.");
  console.log('attention: forward + backward, non-causal; GFLOP/s counts its matmul-like work only (12 B H T² D).');
  for (const c of result.checks) {
    console.log(`check ${c.op} ${c.shape}: ${c.impl} result vs ours, max |diff| / max |ours| = ${c.relativeDifference.toExponential(2)}`);
  }
  console.log(`\nbench:browser: ${seconds()} s; wrote bench/results/browser.json`);
} catch (error) {
  console.error(`bench:browser: ${error instanceof Error ? error.message : error}`);
  exitCode = 1;
} finally {
  await browser.close();
  await server.close();
}
process.exit(exitCode);
