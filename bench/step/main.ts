/**
 * `npm run bench:step`: times training steps (bench/step/cases.ts) on our engine in Node (Dawn) and in headless
 * Chromium, and the same steps in PyTorch where the reference's code imports; prints a table (or the rows as JSON
 * with --json) and writes its rows into bench/results/step.json, keeping the rows of cases and runtimes it did not
 * run. Progress goes to stderr.
 *
 *   --only PRESET        only that preset's cases (tiny, ViT-B/32)
 *   --reps N             timed steps per case (default: the case's own, 5 for tiny, 2 for ViT-B/32)
 *   --warmup N           untimed steps first (default: 2 for tiny, 1 for ViT-B/32)
 *   --skip RUNTIME       leave out node, chromium or torch (repeatable)
 *   --json               the rows on stdout instead of the table
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadSceneAtlasFromDisk } from '../../src/data/scenes-node.ts';
import { loadClipTokenizer } from '../../src/data/tokenizer-node.ts';
import { createNodeRuntime, nodeChoiceStore } from '../../src/gpu/node.ts';
import { installRuntime } from '../../src/tensor/engine.ts';
import { runBenchPage } from '../../scripts/bench-page.mjs';
import { tunedAdapter } from '../adapter.ts';
import { type StepCase, type StepSelection, caseName, selectCases } from './cases.ts';
import { type AdapterLimits, type StepRow, formatStepTable } from './rows.ts';
import { type StepBenchResult, runSteps } from './runSteps.ts';
import { torchStep, torchUnavailable } from './torch.ts';

/** Matmul cases plus every step case with its warm-up, on a CPU adapter under load: ViT-B/32 steps take minutes. */
const PAGE_TIMEOUT_MS = 60 * 60_000;
const RUNTIMES = ['node', 'chromium', 'torch'];

const log = (line: string) => console.error(line);

interface Flags {
  selection: StepSelection;
  skip: Set<string>;
  json: boolean;
}

function parseFlags(): Flags {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      reps: { type: 'string' },
      warmup: { type: 'string' },
      skip: { type: 'string', multiple: true, default: [] },
      json: { type: 'boolean', default: false },
    },
  });
  const skip = new Set(values.skip);
  for (const s of skip) if (!RUNTIMES.includes(s)) throw new Error(`--skip takes one of ${RUNTIMES.join(', ')}, not "${s}"`);
  const count = (v: string | undefined) => (v === undefined ? undefined : Number(v));
  return { selection: { only: values.only, reps: count(values.reps), warmup: count(values.warmup) }, skip, json: values.json };
}

async function nodeSteps(cases: readonly StepCase[]): Promise<StepBenchResult> {
  const runtime = await createNodeRuntime();
  installRuntime(runtime);
  try {
    const adapter = await tunedAdapter(runtime.adapter, nodeChoiceStore());
    log(`node: ${adapter}`);
    const data = { atlas: await loadSceneAtlasFromDisk(), tokenizer: await loadClipTokenizer() };
    return await runSteps(cases, data, { runtime: 'node', adapter }, log);
  } finally {
    runtime.destroy();
  }
}

async function chromiumSteps(selection: StepSelection): Promise<StepBenchResult> {
  const query = new URLSearchParams(Object.entries(selection).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
  return (await runBenchPage({ page: `step.html?${query}`, resultName: 'stepBenchResult', timeoutMs: PAGE_TIMEOUT_MS, log })) as StepBenchResult;
}

function printTable(rows: readonly StepRow[], limits: Readonly<Record<string, AdapterLimits>>): void {
  for (const runtime of new Set(rows.map((r) => r.runtime))) {
    const adapter = rows.find((r) => r.runtime === runtime)!.adapter;
    const limit = limits[runtime];
    console.log(`${runtime}: ${adapter}${limit ? `; best matmul ${limit.bestMatmul} GFLOP/s, arithmetic ceiling ${limit.ceiling} GFLOP/s` : ''}`);
  }
  console.log(formatStepTable(rows, limits));
  console.log('timing: TrainingRun.trainOn (forward, backward, EMA, AdamW, losses read back) on a batch made before the');
  console.log('  clock starts, after warm-up; "+ batch ms": making that batch (scenes drawn, views rendered on the GPU, text');
  console.log('  crops tokenized), which a training run adds to each step. PyTorch: the reference step on tensors made once,');
  console.log('  the same shapes, the faster of 1 and 2 threads. GFLOP: matrix products only, forward and backward; ours counted');
  console.log("  from the ops' shapes, PyTorch's by its profiler (its text crops run all 77 positions, ours stop at their last");
  console.log('  EOT). Ceiling: f32 multiply-adds in registers with no memory traffic on the same adapter, the bound no kernel');
  console.log("  passes. ours/torch = our step time / PyTorch's: below 1 means cosmos-web is faster.");
}

function readRows(file: URL): StepRow[] {
  if (!existsSync(file)) return [];
  const rows: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(rows)) throw new Error(`${file.pathname} is not a list of rows; move it away to start a new one`);
  return rows as StepRow[];
}

/** The earlier rows of cases and runtimes this run did not measure, then this run's rows. */
function mergeRows(earlier: readonly StepRow[], rows: readonly StepRow[]): StepRow[] {
  const key = (r: StepRow) => `${r.runtime} ${caseName(r)}`;
  const measured = new Set(rows.map(key));
  return [...earlier.filter((r) => !measured.has(key(r))), ...rows];
}

async function main(): Promise<void> {
  const started = performance.now();
  const { selection, skip, json } = parseFlags();
  const cases = selectCases(selection);
  const rows: StepRow[] = [];
  const limits: Record<string, AdapterLimits> = {};
  const add = (runtime: string, result: StepBenchResult) => {
    rows.push(...result.rows);
    limits[runtime] = { bestMatmul: result.bestMatmulGflops, ceiling: result.ceilingGflops };
  };
  if (!skip.has('node')) add('node', await nodeSteps(cases));
  if (!skip.has('chromium')) add('chromium', await chromiumSteps(selection));
  const torchMissing = skip.has('torch') ? null : torchUnavailable();
  for (const c of skip.has('torch') || torchMissing ? [] : cases) {
    log(`${caseName(c)} (torch): ${c.warmup} warm-up + ${c.reps} timed steps on 1 and on 2 threads`);
    rows.push(torchStep(c));
  }

  const results = new URL('../results/', import.meta.url);
  mkdirSync(results, { recursive: true });
  const file = new URL('step.json', results);
  writeFileSync(file, `${JSON.stringify(mergeRows(readRows(file), rows), null, 2)}\n`);
  if (json) console.log(JSON.stringify(rows, null, 2));
  else printTable(rows, limits);
  if (torchMissing) log(`PyTorch rows skipped: ${torchMissing}.`);
  log(`bench:step: ${((performance.now() - started) / 1000).toFixed(1)} s; wrote its rows into bench/results/step.json`);
}

main().catch((error: unknown) => {
  console.error(`bench:step: ${error instanceof Error ? error.message : error}`);
  process.exit(1);
});
