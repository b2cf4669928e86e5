/**
 * Steps that would spoil the weights are skipped: a batch poisoned with NaN (its loss and gradients follow) and
 * a learning rate that is NaN. Nothing the run keeps may change: student and teacher weights, AdamW's moments
 * and step counts, bit for bit; training goes on from there.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { sceneData } from '../data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { gpu, noGrad } from '../tensor/engine.ts';
import { concat, reshape } from '../tensor/ops/shape.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { fromArray } from '../tensor/tensor.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from './config.ts';
import { cosmosModelFromCheckpoint } from './load.ts';
import { PRESETS } from './presets.ts';
import { CosmosTrainer } from './trainer.ts';
import { MAX_SKIPPED_IN_A_ROW, TrainingRun } from './training.ts';
import { TINY_TRAINING } from './trainingOptions.ts';

setupTestGpu();

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'cosmos');
const config = fromOpenClipConfig(JSON.parse(readFileSync(join(DIR, 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);
const fixed = JSON.parse(readFileSync(join(DIR, 'train-step.json'), 'utf8')) as {
  global_images: { shape: number[]; data: number[] }[];
  local_images: { shape: number[]; data: number[] }[];
  captions: { data: number[] }[];
};

async function load(weights: 'student' | 'teacher') {
  const source = await fileSource(join(DIR, 'tiny.pt'));
  const model = await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0, { config });
  await source.close();
  return model;
}

/** The fixture's views; `poison` puts NaN into one pixel of the first global view. */
function batch(poison: boolean) {
  const global = fixed.global_images.map((t) => [...t.data]);
  if (poison) global[0]![17] = Number.NaN;
  return {
    globalImages: global.map((data, i) => fromArray(data, fixed.global_images[i]!.shape).keep()),
    localImages: fixed.local_images.map((t) => fromArray(t.data, t.shape).keep()),
    captions: fixed.captions.map((t) => [Int32Array.from(t.data)]),
  };
}

/** Every value the trainer keeps between steps, as raw bits in one read, and AdamW's step counts. */
async function everything(trainer: CosmosTrainer): Promise<{ bits: Int32Array; steps: number[] }> {
  const state = trainer.optimizer.state();
  const kept = [...trainer.student.parameters(), ...(trainer.teacher?.parameters() ?? []), ...state.params.flatMap((s) => [s.expAvg, s.expAvgSq])];
  const all = await scopeAsync(async () =>
    noGrad(() =>
      concat(
        kept.map((t) => reshape(t, [t.size])),
        0,
      ),
    ).readFloat(),
  );
  return { bits: new Int32Array(all.buffer), steps: [state.step, ...state.params.map((s) => s.step)] };
}

/** Whether two snapshots hold the same bits everywhere (toEqual on a million ints is slow to report). */
function expectUnchanged(after: { bits: Int32Array; steps: number[] }, before: { bits: Int32Array; steps: number[] }): void {
  expect(after.steps).toEqual(before.steps);
  expect(after.bits.length).toBe(before.bits.length);
  const changed = after.bits.findIndex((b, i) => b !== before.bits[i]);
  expect(changed, `value ${changed} of ${before.bits.length} changed`).toBe(-1);
}

describe('numerical faults', () => {
  it('a batch poisoned with NaN skips the step: no weight, moment, step count or teacher weight changes; the next step trains', async () => {
    const trainer = new CosmosTrainer(await load('student'), await load('teacher'), { mode: 'cosmos' });
    const settings = { lr: 1e-3, momentum: 0.99 };
    const good = await trainer.step(batch(false), settings);
    expect(good.skipped).toBeNull();
    const before = await everything(trainer);
    expect(before.steps[0]).toBe(1);

    const poisoned = await trainer.step(batch(true), settings);
    expect(Number.isNaN(poisoned.total)).toBe(true);
    expect(poisoned.skipped).toBe('the loss is NaN or infinite');
    expectUnchanged(await everything(trainer), before);

    const next = await trainer.step(batch(false), settings);
    expect(next.skipped).toBeNull();
    expect(Number.isFinite(next.total)).toBe(true);
    expect(trainer.optimizer.state().step).toBe(2);
    trainer.student.dispose();
    trainer.teacher!.dispose();
    trainer.dispose();
  });

  it('a NaN left in the gradient slot of a parameter that gets no gradient this step does not skip the step', async () => {
    // CLIP mode never reaches COSMOS's poolers: their slots of the flat gradients are never written, and the first
    // check, over those buffers whole, sees the NaN; the one parameter by parameter then finds every gradient finite.
    const trainer = new CosmosTrainer(await load('student'), null, { mode: 'clip' });
    const settings = { lr: 1e-3, momentum: 0.99 };
    expect((await trainer.step(batch(false), settings)).skipped).toBeNull();
    const pooler = new Map(trainer.student.namedParameters()).get('visual.attn_cross_pool.attn.in_proj_weight')!;
    expect(pooler.grad).toBeNull();
    gpu().write(pooler.gradSlot!.range, Float32Array.of(Number.NaN, Number.POSITIVE_INFINITY, 0, 0));
    const next = await trainer.step(batch(false), settings);
    expect(next.skipped).toBeNull();
    expect(trainer.optimizer.state().step).toBe(2);
    trainer.student.dispose();
    trainer.dispose();
  });

  it(`a NaN learning rate skips every step and says so; after ${MAX_SKIPPED_IN_A_ROW} the run counts ${MAX_SKIPPED_IN_A_ROW} in a row`, async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const run = new TrainingRun(PRESETS.tiny, { ...TINY_TRAINING, lr: Number.NaN, batchSize: 2, steps: 10 }, sceneData(atlas, 0), tokenizer);
    const before = await everything(run.trainer);
    for (let s = 1; s <= MAX_SKIPPED_IN_A_ROW; s++) {
      const record = await run.trainStep();
      expect(record.step).toBe(s);
      expect(record.skipped).toBe('the learning rate is NaN');
      expect(Number.isFinite(record.total)).toBe(true); // the batch itself was fine
      expect(run.skippedInARow).toBe(s);
    }
    expectUnchanged(await everything(run.trainer), before);
    run.dispose();
  });
});
