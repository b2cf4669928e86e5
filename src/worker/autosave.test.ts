import { describe, expect, it } from 'vitest';
import { memoryDirectory, memoryStore } from '../testing/memoryStore.ts';
import { directoryStore, saveCheckpoint } from '../checkpoint/opfs.ts';
import { toOpenClipConfig } from '../cosmos/config.ts';
import { PRESETS } from '../cosmos/presets.ts';
import { learningRate } from '../cosmos/schedule.ts';
import { TrainingRun } from '../cosmos/training.ts';
import { TINY_TRAINING } from '../cosmos/trainingOptions.ts';
import { sceneData } from '../data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { autosave, restoreRun, saveRun } from './autosave.ts';
import { StorageFullError, checkpointBytes } from './storageFull.ts';
import { AUTOSAVE_CHECKPOINT } from './protocol.ts';
import { emptyLog } from './runLog.ts';

setupTestGpu();

/** Every tensor of `a` equals its namesake in `b`, bit for bit (a save is a copy, not a computation). */
async function expectSame(a: [string, Tensor][], b: [string, Tensor][]): Promise<void> {
  expect(b.map(([name]) => name)).toEqual(a.map(([name]) => name));
  for (const [i, [name, t]] of a.entries()) {
    const [x, y] = [await t.readFloat(), await b[i]![1].readFloat()];
    // A byte comparison: toEqual walks millions of elements one by one.
    expect(Buffer.from(y.buffer, y.byteOffset, y.byteLength).equals(Buffer.from(x.buffer, x.byteOffset, x.byteLength)), name).toBe(true);
  }
}

const moments = (run: TrainingRun): [string, Tensor][] =>
  run.trainer.optimizer
    .state()
    .params.flatMap((p) => [[`${p.name}.exp_avg`, p.expAvg] as [string, Tensor], [`${p.name}.exp_avg_sq`, p.expAvgSq] as [string, Tensor]]);

describe('the run saved in the browser', () => {
  it('restores where it stopped: student, teacher, optimizer moments, settings and step', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const options = { ...TINY_TRAINING, batchSize: 2, steps: 10, warmupSteps: 4 };
    const run = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, options.seed), tokenizer);
    await run.trainStep();
    await run.trainStep();
    const stores = { checkpoints: memoryStore(), runs: memoryStore() };
    const log = {
      steps: [],
      evals: [{ step: 2, i2t_r1: 0.25, i2t_r5: 0.5, t2i_r1: 0.125, t2i_r5: 0.75, pointing_cross_attention: 0.5, pointing_dense: 0.25 }],
    };
    await autosave(run, 'tiny', log, stores);
    expect((await stores.checkpoints.list()).map((c) => c.name)).toEqual([AUTOSAVE_CHECKPOINT]);

    const { run: restored, saved } = await restoreRun(async (o) => sceneData(atlas, o.seed), tokenizer, stores);
    expect(saved).toMatchObject({ preset: 'tiny', config: toOpenClipConfig(PRESETS.tiny), options, step: 2, log, data: 'built-in scenes' });
    expect(restored.config).toEqual(PRESETS.tiny);
    expect(restored.step).toBe(2);
    await expectSame(run.student.namedParameters(), restored.student.namedParameters());
    await expectSame(run.teacher!.namedParameters(), restored.teacher!.namedParameters());
    await expectSame(moments(run), moments(restored));
    expect(restored.trainer.optimizer.state().step).toBe(2);

    // The schedule goes on from step 3, not from a fresh warmup.
    const next = await restored.trainStep();
    expect(next.step).toBe(3);
    expect(next.lr).toBe(learningRate(2, options.lr, options.warmupSteps, options.steps));
    run.dispose();
    restored.dispose();
  });

  it('restores a run saved before the poolers had per-tower heads (one poolerHeads beside the towers)', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const options = { ...TINY_TRAINING, batchSize: 2, steps: 10 };
    const run = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, options.seed), tokenizer);
    await run.trainStep();
    const stores = { checkpoints: memoryStore(), runs: memoryStore() };
    await autosave(run, 'tiny', emptyLog(), stores);
    const { vision, text, embedDim } = PRESETS.tiny;
    const { attnPoolerHeads: _v, ...oldVision } = vision;
    const { attnPoolerHeads: _t, ...oldText } = text;
    const old = { preset: 'tiny', config: { embedDim, vision: oldVision, text: oldText, poolerHeads: 2 }, options, step: 1, savedAt: 0 };
    await saveCheckpoint(stores.runs, 'autosave.json', async (sink) => {
      await sink.write(new TextEncoder().encode(JSON.stringify(old)));
      await sink.close();
    });
    const { run: restored } = await restoreRun(async (o) => sceneData(atlas, o.seed), tokenizer, stores);
    expect(restored.config).toEqual(PRESETS.tiny);
    await expectSame(run.student.namedParameters(), restored.student.namedParameters());
    run.dispose();
    restored.dispose();
  });

  it('a save cut off at any point (the worker terminated) leaves the previous save whole and restorable', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const options = { ...TINY_TRAINING, batchSize: 2, steps: 10 };
    const run = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, options.seed), tokenizer);
    // What a crash would leave in both folders, after every chunk written, file completed or switched in.
    const left: { checkpoints: ReadonlyMap<string, File>; runs: ReadonlyMap<string, File> }[] = [];
    const snapshot = () => left.push({ checkpoints: new Map(dirs.checkpoints.files), runs: new Map(dirs.runs.files) });
    const dirs = { checkpoints: memoryDirectory({ onChange: snapshot }), runs: memoryDirectory({ onChange: snapshot }) };
    const stores = { checkpoints: directoryStore(dirs.checkpoints), runs: directoryStore(dirs.runs) };
    await run.trainStep();
    await autosave(run, 'tiny', emptyLog(), stores);
    const firstWeights = await Promise.all(run.student.parameters().map((p) => p.readFloat()));
    const from = left.length;
    await run.trainStep();
    await autosave(run, 'tiny', emptyLog(), stores);
    // The last two changes switch the new files in; every state before them is a save cut off mid-write.
    const cut = left.slice(from, -2);
    expect(cut.length).toBeGreaterThan(10);
    const restoreFrom = async (state: (typeof left)[number]) => {
      const crashed = {
        checkpoints: directoryStore(memoryDirectory({ files: state.checkpoints })),
        runs: directoryStore(memoryDirectory({ files: state.runs })),
      };
      return restoreRun(async (o) => sceneData(atlas, o.seed), tokenizer, crashed);
    };
    // The first chunk, one in the middle, the checkpoint complete, both complete: each restores step 1 exactly.
    for (const state of [cut[0]!, cut[Math.floor(cut.length / 2)]!, cut.at(-2)!, cut.at(-1)!]) {
      const { run: restored, saved } = await restoreFrom(state);
      expect(saved.step).toBe(1);
      const weights = await Promise.all(restored.student.parameters().map((p) => p.readFloat()));
      for (const [i, w] of weights.entries()) expect(Buffer.from(w.buffer).equals(Buffer.from(firstWeights[i]!.buffer))).toBe(true);
      restored.dispose();
    }
    const { run: latest, saved } = await restoreFrom(left.at(-1)!);
    expect(saved.step).toBe(2);
    await expectSame(run.student.namedParameters(), latest.student.namedParameters());
    latest.dispose();
    run.dispose();
  });

  it('a save the storage quota refuses says how much room it needs and which checkpoints could go; the previous save stays', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    const options = { ...TINY_TRAINING, batchSize: 2, steps: 10 };
    const run = new TrainingRun(PRESETS.tiny, options, sceneData(atlas, options.seed), tokenizer);
    await run.trainStep();
    const bytes = checkpointBytes(run);
    const stores = { checkpoints: directoryStore(memoryDirectory({ quota: Math.round(bytes * 1.5) })), runs: memoryStore() };
    await autosave(run, 'tiny', emptyLog(), stores);
    const [autosaved] = await stores.checkpoints.list();
    // The estimate leaves out only the zip's headers and the pickle.
    expect(autosaved!.size).toBeGreaterThan(bytes);
    expect(autosaved!.size).toBeLessThan(bytes * 1.05);

    const refused = saveRun(stores.checkpoints, run, 'tiny');
    await expect(refused).rejects.toThrow(StorageFullError);
    const message = await refused.catch((e: Error) => e.message);
    expect(message).toMatch(
      /^The browser's storage is full, so the run could not be saved: it needs about [\d.]+ [KM]iB free; delete checkpoints you no longer need in the Checkpoints panel/,
    );
    expect(message).toContain(`${AUTOSAVE_CHECKPOINT} (`);
    expect(message).not.toContain('\n');
    expect((await stores.checkpoints.list()).map((c) => c.name)).toEqual([AUTOSAVE_CHECKPOINT]);
    const { run: restored, saved } = await restoreRun(async (o) => sceneData(atlas, o.seed), tokenizer, stores);
    expect(saved.step).toBe(1);
    restored.dispose();
    run.dispose();
  });

  it('says so in a sentence when nothing is saved', async () => {
    const [atlas, tokenizer] = await Promise.all([loadSceneAtlasFromDisk(), loadClipTokenizer()]);
    await expect(restoreRun(async (o) => sceneData(atlas, o.seed), tokenizer, { checkpoints: memoryStore(), runs: memoryStore() })).rejects.toThrow(
      'No run is saved in this browser',
    );
  });
});
