import { describe, expect, it } from 'vitest';
import { sceneData } from '../data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { heldOutRetrieval } from '../eval/heldOut.ts';
import type { MemoryStats } from '../gpu/runtime.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { PRESETS } from './presets.ts';
import { TrainingRun } from './training.ts';
import { TINY_TRAINING } from './trainingOptions.ts';

const gpu = setupTestGpu();

describe('a training run on the built-in scenes', () => {
  for (const mode of ['cosmos', 'clip'] as const) {
    it(`${mode} mode: steps give finite losses, memory stays flat, the held-out evaluation gives recalls`, async () => {
      const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
      const run = new TrainingRun(PRESETS.tiny, { ...TINY_TRAINING, mode, batchSize: 4, steps: 10 }, sceneData(atlas, 0), tokenizer);
      const first = await run.trainStep();
      expect(Number.isFinite(first.total)).toBe(true);
      expect(Number.isNaN(first.cosmos)).toBe(mode === 'clip');
      expect(first.temperature).toBeGreaterThan(1);
      await run.trainStep();
      // Nothing a step allocates outlives it: the buffers held between steps are the same ones. The pool's free
      // list may gain a size class when a step's captions are longer than any before (the text tower stops at
      // the batch's last EOT), bounded by the context length; with fixed shapes it holds flat (transformer.test.ts).
      const live = ({ liveBytes, liveBuffers }: MemoryStats) => ({ liveBytes, liveBuffers });
      const memory = live(gpu().memory());
      const third = await run.trainStep();
      expect(live(gpu().memory())).toEqual(memory);
      expect(third.step).toBe(3);
      expect(third.lr).toBeGreaterThan(first.lr); // still warming up
      const recall = await heldOutRetrieval(run.student, run.data, tokenizer, 16);
      for (const r of Object.values(recall)) expect(r).toBeGreaterThanOrEqual(0);
      expect(recall.i2t_r5).toBeGreaterThanOrEqual(recall.i2t_r1);
      run.dispose();
    });
  }

  it('a batch prepared apart and trained on gives the same step as trainStep, and only on the step it was drawn for', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const options = { ...TINY_TRAINING, mode: 'cosmos' as const, batchSize: 2, steps: 4 };
    const whole = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, 0), tokenizer);
    const apart = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, 0), tokenizer);
    const expected = await whole.trainStep();
    const batch = apart.prepareBatch();
    const got = await apart.trainOn(batch);
    batch.dispose();
    expect([got.step, got.total, got.clip, got.cosmos]).toEqual([expected.step, expected.total, expected.clip, expected.cosmos]);
    expect(apart.lastStepViews).toEqual(whole.lastStepViews);
    const stale = apart.prepareBatch();
    const next = apart.prepareBatch();
    expect((await apart.trainOn(next)).step).toBe(2);
    await expect(apart.trainOn(stale)).rejects.toThrow('prepared for step 2, not step 3');
    for (const b of [stale, next]) b.dispose();
    whole.dispose();
    apart.dispose();
  });
});
