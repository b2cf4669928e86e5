#!/usr/bin/env node
// `npm run bench:browser`: runs the kernel benchmark page (bench/browser/index.html) in headless Chromium with WebGPU
// (scripts/bench-page.mjs), prints the table and writes bench/results/browser.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runBenchPage } from './bench-page.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
// Building, compiling pipelines and timing every case on both implementations; 1024³ is seconds a rep on a CPU adapter.
const RUN_TIMEOUT_MS = 15 * 60_000;

const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);

let exitCode = 0;
try {
  const result = await runBenchPage({ page: 'index.html', resultName: 'benchResult', timeoutMs: RUN_TIMEOUT_MS });

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
}
process.exit(exitCode);
