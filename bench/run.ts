/**
 * `npm run bench`: our engine in Node (Dawn) on the current adapter. Prints a table (or JSON rows with
 * `--json`) and writes bench/results/node.json. Progress goes to stderr so that `--json` output stays clean.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createNodeRuntime, nodeChoiceStore } from '../src/gpu/node.ts';
import { installRuntime } from '../src/tensor/engine.ts';
import { tunedAdapter } from './adapter.ts';
import { ceilingRow, matmulShare } from './ceiling.ts';
import { formatTable, runCases } from './cases.ts';
import { cosmosWeb } from './cosmos.ts';

const json = process.argv.includes('--json');
const started = performance.now();
const runtime = await createNodeRuntime();
installRuntime(runtime);
const adapter = `adapter: ${await tunedAdapter(runtime.adapter, nodeChoiceStore())}`;
console.error(adapter);
console.error('timing: median of single repetitions after warm-up, each ended by await gpu().sync(); f32');

const { rows } = await runCases([cosmosWeb], (line) => console.error(line));
rows.push(await ceilingRow((line) => console.error(line)));
runtime.destroy();

const results = new URL('./results/', import.meta.url);
mkdirSync(results, { recursive: true });
writeFileSync(new URL('node.json', results), `${JSON.stringify(rows, null, 2)}\n`);

if (json) {
  console.log(JSON.stringify(rows, null, 2));
} else {
  console.log(adapter);
  console.log(formatTable(rows));
  console.log('attention: forward + backward, non-causal; GFLOP/s counts its matmul-like work only (12 B H T² D).');
  console.log(`ceiling: f32 fma chains in registers, no memory traffic; ${matmulShare(rows)}.`);
}
console.error(`bench: ${((performance.now() - started) / 1000).toFixed(1)} s; wrote bench/results/node.json`);
