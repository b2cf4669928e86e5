/**
 * Long-run checks of headless training on the tiny preset (the built-in scenes, Dawn in Node):
 *   1. soak: N steps (2,000 by default), sampling GPU buffers and bytes held and the JS heap after a GC every
 *      --every steps; after warm-up (the first tenth) the buffers and bytes in use must not move, nor the heap grow;
 *   2. determinism: a second run with the same seed gives the same losses, bit for bit, for its first --check steps;
 *   3. pause and resume: a third run, driven by the worker's TrainingLoop, paused and resumed --pauses times
 *      (50 by default) at steps spread over its --check steps, gives those same losses bit for bit.
 *
 *   node --expose-gc --import tsx --import ./scripts/wgsl-hooks.mjs scripts/soak.ts [--steps N] [--check M]
 *     [--batch B] [--every K] [--pauses P] [--json FILE]
 *
 * Prints the samples and the verdicts; exits 1 when memory grows or a loss differs.
 */
import { writeFileSync } from 'node:fs';
import { PRESETS } from '../src/cosmos/presets.ts';
import { TrainingRun } from '../src/cosmos/training.ts';
import { TINY_TRAINING } from '../src/cosmos/trainingOptions.ts';
import { sceneData } from '../src/data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../src/data/scenes-node.ts';
import { loadClipTokenizer } from '../src/data/tokenizer-node.ts';
import { createNodeRuntime } from '../src/gpu/node.ts';
import { installRuntime } from '../src/tensor/engine.ts';
import { GpuQueue, type SteppableRun, TrainingLoop } from '../src/worker/run.ts';
import type { WorkerEvent } from '../src/worker/protocol.ts';

function flag(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
}

const steps = flag('steps', 2000);
const check = Math.min(steps, flag('check', 200));
const batch = flag('batch', TINY_TRAINING.batchSize);
const every = flag('every', 50);
const pauses = flag('pauses', 50);
const jsonAt = process.argv.indexOf('--json');

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc, so that the heap is measured after a collection');

const runtime = await createNodeRuntime();
installRuntime(runtime);
const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
const options = { ...TINY_TRAINING, batchSize: batch, steps };
const newRun = () => new TrainingRun(PRESETS.tiny, options, sceneData(atlas, options.seed), tokenizer);

interface Sample {
  step: number;
  liveBuffers: number;
  liveBytes: number;
  poolBytes: number;
  heapBytes: number;
  msPerStep: number;
}

/** The losses' float64 bits as they came, for an exact comparison. */
const bits = (losses: number[]): string[] => losses.map((x) => Buffer.from(new Float64Array([x]).buffer).toString('hex'));

function firstDifference(a: number[], b: number[]): number {
  const [x, y] = [bits(a), bits(b)];
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return i;
  return x.length === y.length ? -1 : n;
}

// ---- 1. The soak ----
const samples: Sample[] = [];
const soakLosses: number[] = [];
const soak = newRun();
let since = performance.now();
for (let s = 1; s <= steps; s++) {
  soakLosses.push((await soak.trainStep()).total);
  if (s % every === 0 || s === 1) {
    gc();
    const memory = runtime.memory();
    const now = performance.now();
    samples.push({
      step: s,
      liveBuffers: memory.liveBuffers,
      liveBytes: memory.liveBytes,
      poolBytes: memory.totalBytes,
      heapBytes: process.memoryUsage().heapUsed,
      msPerStep: (now - since) / (s === 1 ? 1 : every),
    });
    since = now;
    const last = samples.at(-1)!;
    process.stderr.write(
      `step ${s}: ${last.liveBuffers} buffers, ${last.liveBytes} bytes live, pool ${last.poolBytes}, heap ${last.heapBytes}, ${last.msPerStep.toFixed(0)} ms a step\n`,
    );
  }
}
soak.dispose();

const warm = samples.filter((x) => x.step >= Math.max(every, Math.round(steps / 10)));
const base = warm[0]!;
const growth = {
  liveBuffers: Math.max(...warm.map((x) => x.liveBuffers)) - base.liveBuffers,
  liveBytes: Math.max(...warm.map((x) => x.liveBytes)) - base.liveBytes,
  poolBytes: Math.max(...warm.map((x) => x.poolBytes)) - base.poolBytes,
  heapBytes: Math.max(...warm.map((x) => x.heapBytes)) - base.heapBytes,
};
// The GPU memory in use must not move at all; the pool's free list may gain a size class when a batch's captions run
// longer than any before (bounded by the context length), so it is reported, not required flat; the heap may wobble
// by what V8 keeps around a collection (a few MB), not grow with steps.
const HEAP_SLACK = 8 * 1024 * 1024;
const flat = growth.liveBuffers === 0 && growth.liveBytes === 0 && growth.heapBytes <= HEAP_SLACK;

// ---- 2. Same seed, same losses ----
const again = newRun();
const againLosses: number[] = [];
for (let s = 0; s < check; s++) againLosses.push((await again.trainStep()).total);
again.dispose();
const determinismAt = firstDifference(soakLosses.slice(0, check), againLosses);

// ---- 3. Paused and resumed, same losses ----
const looped = newRun();
const loopLosses: number[] = [];
const pauseAt = new Set(Array.from({ length: pauses }, (_, i) => Math.max(1, Math.round(((i + 1) * check) / (pauses + 1)))));
const queue = new GpuQueue();
// The run's schedule spans all the steps, as the soak's did; the loop ends after the checked ones.
const steppable: SteppableRun = {
  get step() {
    return looped.step;
  },
  get skippedInARow() {
    return looped.skippedInARow;
  },
  options: { steps: check },
  trainStep: () => looped.trainStep(),
};
let pausedCount = 0;
let loop: TrainingLoop;
await new Promise<void>((resolve, reject) => {
  loop = new TrainingLoop(
    steppable,
    queue,
    { evalEvery: check + 1, evalCount: 2, saveEvery: check + 1 },
    {
      post(event: WorkerEvent) {
        if (event.type === 'step') {
          loopLosses.push(event.record.total);
          if (pauseAt.has(event.record.step)) {
            pausedCount++;
            loop.pause();
            // Resumed once the loop has closed (as a later click would find it), or within the closing (a quick one).
            void (pausedCount % 2 ? loop.idle().then(() => loop.play()) : Promise.resolve().then(() => loop.play()));
          }
        }
        if (event.type === 'state' && event.state === 'stopped') resolve();
      },
      memory: () => runtime.memory(),
      evaluate: async () => ({ i2t_r1: 0, i2t_r5: 0, t2i_r1: 0, t2i_r5: 0, pointing_cross_attention: null, pointing_dense: null }),
      save: async () => {},
      failed: reject,
      saveFailed: reject,
    },
  );
  loop.play();
});
looped.dispose();
const pauseAtDifference = firstDifference(soakLosses.slice(0, check), loopLosses);

const result = {
  preset: 'tiny',
  batch,
  steps,
  every,
  adapter: runtime.adapter.description || runtime.adapter.vendor,
  samples,
  warmUpStep: base.step,
  growthAfterWarmUp: growth,
  flat,
  determinism: { steps: check, identical: determinismAt === -1, firstDifference: determinismAt },
  pauseResume: { steps: check, pauses: pausedCount, identical: pauseAtDifference === -1, firstDifference: pauseAtDifference },
};
console.log(JSON.stringify({ ...result, samples: undefined }, null, 1));
if (jsonAt >= 0) writeFileSync(process.argv[jsonAt + 1]!, `${JSON.stringify(result, null, 1)}\n`);
runtime.destroy();
process.exitCode = flat && result.determinism.identical && result.pauseResume.identical ? 0 : 1;
