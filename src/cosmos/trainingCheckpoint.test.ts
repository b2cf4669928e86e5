import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { fromOpenClipConfig, type OpenClipModelConfig } from './config.ts';
import { type CosmosModel, cosmosModel } from './model.ts';
import { CosmosTrainer } from './trainer.ts';
import { decayFor } from '../tensor/optim/adamw.ts';
import { fromArray, Tensor } from '../tensor/tensor.ts';
import { expectClose, type Tolerance } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { livePythonScript, PYTHON } from '../testing/python.ts';
import { memorySink } from '../checkpoint/byteSink.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { memoryStore } from '../testing/memoryStore.ts';
import { type FileSource, fileSink, fileSource } from '../checkpoint/nodeFiles.ts';
import { saveCheckpoint } from '../checkpoint/opfs.ts';
import { isTensorRef, type TensorRef } from '../checkpoint/tensorRef.ts';
import { readTorchArchive } from '../checkpoint/torchArchive.ts';
import { readTrainingCheckpoint, restoreTrainingCheckpoint, type TrainingCheckpoint, writeTrainingCheckpoint } from './trainingCheckpoint.ts';
import type { PickleValue } from '../checkpoint/unpickle.ts';

setupTestGpu();

const ROOT = join(import.meta.dirname, '..', '..');
const DIR = join(ROOT, 'fixtures', 'training');
const LIVE = livePythonScript('training_checkpoint.py');

const fixture = JSON.parse(readFileSync(join(DIR, 'config.json'), 'utf8')) as {
  model: OpenClipModelConfig;
  hyper: { lr: number; weight_decay: number; betas: [number, number]; eps: number; epoch: number; name: string };
};
const config = fromOpenClipConfig(fixture.model);
const h = fixture.hyper;
const adamw = { weightDecay: h.weight_decay, betas: h.betas, eps: h.eps };

/** What CLIP mode never trains: the fixture checkpoint has no optimizer state for these. */
const COSMOS_ONLY = ['attn_cross_pool', 'token_mapping', 'distill_logit_scale'];

const bitsOf = (values: Float32Array) => new Int32Array(values.buffer, values.byteOffset, values.length);

/** Files opened by a test, closed after it: lazy tensors read from them until then. */
const opened: FileSource[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((f) => f.close()));
});

async function open(path: string): Promise<FileSource> {
  const source = await fileSource(path);
  opened.push(source);
  return source;
}

async function openFixture(name: string, options?: { trainable?: Iterable<string> }): Promise<TrainingCheckpoint> {
  return readTrainingCheckpoint(await open(join(DIR, name)), options);
}

/** Two of our checkpoint trees (as our reader gives them) hold the same keys, values and tensor bits. */
async function expectSameTree(a: PickleValue, b: PickleValue, path = 'checkpoint'): Promise<void> {
  if (isTensorRef(a) || isTensorRef(b)) {
    expect(isTensorRef(a) && isTensorRef(b), path).toBe(true);
    const [x, y] = [a as TensorRef, b as TensorRef];
    expect([x.dtype, x.shape], path).toEqual([y.dtype, y.shape]);
    expect(bitsOf(await x.read()), path).toEqual(bitsOf(await y.read()));
  } else if (a instanceof Map && b instanceof Map) {
    expect([...a.keys()], path).toEqual([...b.keys()]);
    for (const [k, v] of a) await expectSameTree(v, b.get(k)!, `${path}.${String(k)}`);
  } else if (Array.isArray(a) && Array.isArray(b)) {
    expect(a.length, path).toBe(b.length);
    for (const [i, v] of a.entries()) await expectSameTree(v, b[i]!, `${path}[${i}]`);
  } else {
    expect(a, path).toStrictEqual(b);
  }
}

/** A fresh micro model and its trainer, with values unlike the fixture's, to restore into. */
function freshTrainer(freezeTowers = false) {
  const student = cosmosModel(config, 77);
  const teacher = cosmosModel(config, 78);
  const trainer = new CosmosTrainer(student, teacher, { mode: 'clip', freezeTowers, ...adamw });
  const dispose = () => {
    trainer.dispose();
    student.dispose();
    teacher.dispose();
  };
  return { student, teacher, trainer, dispose };
}

async function expectModelHolds(model: CosmosModel, tensors: Map<string, TensorRef>): Promise<void> {
  for (const [name, p] of model.namedParameters()) expect(bitsOf(await p.readFloat()), name).toEqual(bitsOf(await tensors.get(name)!.read()));
}

// One AdamW step from the same state, ours on the GPU against torch's on the CPU: the operations are torch's in
// torch's order, so what differs is sqrt and division (WGSL allows ~2.5 ulp) and multiply-add fusion: a few ulp
// of O(1) parameters (src/tensor/optim/adamw.test.ts measures <= 6 ulp over 5 steps). A wrong step count, moment
// or group is off by ~lr * 1e-2 = 1e-5 or more.
const PARAM_TOL: Tolerance = { rtol: 2e-6, atol: 1e-7 };
/** Moments are running sums whose terms can cancel: an ulp of the tensor's largest value (as adamw.test.ts). */
const momentTol = (expected: Float32Array): Tolerance => ({ rtol: 1e-6, atol: 1e-6 * expected.reduce((m, v) => Math.max(m, Math.abs(v)), 0) });

describe('training checkpoints in the released layout, against PyTorch 1.13 (fixtures/training)', () => {
  it('the reference loaded our file strictly, with the Python types torch saves, and torch read exactly what our reader reads', async () => {
    const ours = await readTorchArchive(await open(join(DIR, 'written.pt')));
    const torchRead = await readTorchArchive(await open(join(DIR, 'torch-read.pt')));
    await expectSameTree(ours.tree, torchRead.tree);
    const report = JSON.parse(readFileSync(join(DIR, 'torch-read.json'), 'utf8')) as { differences: string[] };
    expect(report.differences).toEqual([]);
  });

  it('names the optimizer state by parameter, in the reference grouping, with torch steps; untrained ones absent', async () => {
    const ckpt = await openFixture('written.pt');
    expect([ckpt.epoch, ckpt.name]).toEqual([h.epoch, h.name]);
    const names = [...ckpt.student.keys()];
    expect(names.length).toBeGreaterThan(50);
    expect(names.every((n) => !n.startsWith('module.'))).toBe(true);
    expect([...ckpt.teacher!.keys()]).toEqual(names);
    const opt = ckpt.optimizer!;
    expect({ lr: opt.lr, betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay }).toEqual({ lr: h.lr, ...adamw });
    const decays = (n: string) => decayFor(n, ckpt.student.get(n)!.shape.length);
    expect(opt.params).toEqual([...names.filter((n) => !decays(n)), ...names.filter(decays)]);
    const report = JSON.parse(readFileSync(join(DIR, 'torch-read.json'), 'utf8')) as { steps: Record<string, number> };
    const torchSteps = Object.fromEntries(Object.entries(report.steps).map(([i, step]) => [opt.params[Number(i)]!, step]));
    expect(Object.fromEntries([...opt.state].map(([n, s]) => [n, s.step]))).toEqual(torchSteps);
    expect(names.filter((n) => !opt.state.has(n))).toEqual(names.filter((n) => COSMOS_ONLY.some((part) => n.includes(part))));
  });

  it("restores into live models and AdamW; one more step matches torch's step from the same file", async () => {
    const ckpt = await openFixture('written.pt');
    const { student, teacher, trainer, dispose } = freshTrainer();
    await restoreTrainingCheckpoint(ckpt, { student, teacher, optimizer: trainer.optimizer });
    await expectModelHolds(student, ckpt.student);
    await expectModelHolds(teacher, ckpt.teacher!);

    const torchStep = await openFixture('torch-step.pt');
    const { tree } = await readTorchArchive(await open(join(DIR, 'torch-step.pt')));
    const grads = (tree as Map<string, PickleValue>).get('grads') as Map<string, TensorRef>;
    for (const [name, p] of student.namedParameters()) p.grad = fromArray(await grads.get(name)!.read(), p.shape).keep();
    trainer.optimizer.step(ckpt.optimizer!.lr);

    for (const [name, p] of student.namedParameters()) {
      expectClose(await p.readFloat(), await torchStep.student.get(name)!.read(), PARAM_TOL, name);
    }
    await expectModelHolds(teacher, torchStep.teacher!);
    const torchState = torchStep.optimizer!.state;
    for (const s of trainer.optimizer.state().params) {
      const want = torchState.get(s.name)!;
      // Parameters without state in the file start afresh in both: step 1; the others continue: step 3.
      expect(s.step, s.name).toBe(want.step);
      expect(s.step, s.name).toBe(ckpt.optimizer!.state.has(s.name) ? 3 : 1);
      const [m, v] = [await want.expAvg.read(), await want.expAvgSq.read()];
      expectClose(await s.expAvg.readFloat(), m, momentTol(m), `${s.name} exp_avg`);
      expectClose(await s.expAvgSq.readFloat(), v, momentTol(v), `${s.name} exp_avg_sq`);
    }
    dispose();
  });

  /** The written fixture restored into a fresh trainer, then one more step for all but the vision tower. */
  async function restoredAndStepped() {
    const ckpt = await openFixture('written.pt');
    const fresh = freshTrainer();
    const { student, trainer } = fresh;
    await restoreTrainingCheckpoint(ckpt, { student, teacher: fresh.teacher, optimizer: trainer.optimizer });
    // Steps 0 (the vision pooler), 1 (other COSMOS-only parts), 2 (vision), 3 (text).
    const trained = student.namedParameters().filter(([n]) => !n.startsWith('visual.'));
    for (const [, p] of trained)
      p.grad = fromArray(
        Float32Array.from({ length: p.size }, (_, i) => Math.sin(i + p.size)),
        p.shape,
      ).keep();
    trainer.optimizer.step(2e-4);
    return fresh;
  }

  it('writes from the GPU one tensor at a time and reads back bit for bit', async () => {
    const { student, teacher, trainer, dispose } = await restoredAndStepped();

    // Streaming: each GPU read-back is followed by sink writes (its bytes) before the next one; the pickle goes first.
    const memory = memorySink();
    const write = vi.fn((chunk: Uint8Array) => memory.write(chunk));
    const readBack = vi.spyOn(Tensor.prototype, 'readFloat');
    await writeTrainingCheckpoint(
      { write, close: () => memory.close() },
      { student, teacher, optimizer: trainer.optimizer, epoch: 4, name: 'again', lr: 2e-4 },
    );
    const events = [
      ...readBack.mock.invocationCallOrder.map((order) => [order, 'read'] as const),
      ...write.mock.invocationCallOrder.map((order) => [order, 'write'] as const),
    ]
      .sort(([a], [b]) => a - b)
      .map(([, what]) => what);
    readBack.mockRestore();
    const withState = trainer.optimizer.state().params.filter((s) => s.step > 0).length;
    expect(events.filter((e) => e === 'read')).toHaveLength(2 * student.namedParameters().length + 2 * withState);
    expect([events[0], events.at(-1)]).toEqual(['write', 'write']);
    expect(events.findIndex((e, i) => e === 'read' && events[i + 1] === 'read')).toBe(-1);

    const back = await readTrainingCheckpoint(bytesSource(memory.bytes(), 'again.pt'));
    expect([back.epoch, back.name, back.optimizer!.lr]).toEqual([4, 'again', 2e-4]);
    await expectModelHolds(student, back.student);
    await expectModelHolds(teacher, back.teacher!);
    for (const s of trainer.optimizer.state().params) {
      const saved = back.optimizer!.state.get(s.name);
      if (s.step === 0) {
        expect(saved, s.name).toBeUndefined();
        continue;
      }
      expect(saved?.step, s.name).toBe(s.step);
      expect(bitsOf(await saved!.expAvg.read()), s.name).toEqual(bitsOf(await s.expAvg.readFloat()));
      expect(bitsOf(await saved!.expAvgSq.read()), s.name).toEqual(bitsOf(await s.expAvgSq.readFloat()));
    }

    dispose();
  });

  it.skipIf(LIVE.skipped !== null)(
    `torch reads what we write exactly as what it saves itself (live)${LIVE.skipped ? ` (skipped: ${LIVE.skipped})` : ''}`,
    async () => {
      const { student, teacher, trainer, dispose } = await restoredAndStepped();
      const dir = mkdtempSync(join(tmpdir(), 'training-checkpoint-'));
      try {
        const [file, torchRead] = [join(dir, 'ours.pt'), join(dir, 'torch-read.pt')];
        await writeTrainingCheckpoint(await fileSink(file), { student, teacher, optimizer: trainer.optimizer, epoch: 4, name: 'again', lr: 2e-4 });
        const run = spawnSync(PYTHON, [LIVE.path, 'read', file, torchRead, join(DIR, 'config.json')], { encoding: 'utf8' });
        expect(run.status, run.stderr).toBe(0);
        // open_clip prints import warnings on stdout: the report is the last line.
        const report = JSON.parse(run.stdout.trim().split('\n').at(-1)!) as { differences: string[]; steps: Record<string, number> };
        expect(report.differences).toEqual([]);
        const back = await readTrainingCheckpoint(await open(file));
        expect(Object.values(report.steps)).toEqual([...back.optimizer!.state.values()].map((s) => s.step));
        await expectSameTree((await readTorchArchive(await open(torchRead))).tree, (await readTorchArchive(await open(file))).tree);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      dispose();
    },
  );

  it("reads the reference's own training checkpoint (fixtures/cosmos/tiny.pt, saved by torch)", async () => {
    const ckpt = await readTrainingCheckpoint(await open(join(ROOT, 'fixtures', 'cosmos', 'tiny.pt')));
    const opt = ckpt.optimizer!;
    expect({ lr: opt.lr, betas: opt.betas, eps: opt.eps, weightDecay: opt.weightDecay }).toEqual({ lr: 1e-3, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.5 });
    // Its one step backpropagated the image embedding alone: exactly the vision tower (poolers aside) has state.
    const vision = [...ckpt.student.keys()].filter((n) => n.startsWith('visual.') && !n.includes('attn_cross_pool'));
    expect([...opt.state.keys()].sort()).toEqual(vision.sort());
    expect([...opt.state.values()].every((s) => s.step === 1)).toBe(true);
  });

  it('frozen towers: all weights in student and teacher, only trained parameters in the groups; through the store', async () => {
    const { student, teacher, trainer, dispose } = freshTrainer(true);
    const trainable = trainer.optimizer.state().params.map((s) => s.name);
    expect(trainable.length).toBeLessThan(student.namedParameters().length);
    const [untouched, ...updated] = trainable;
    for (const [name, p] of student.namedParameters()) {
      if (updated.includes(name))
        p.grad = fromArray(
          Float32Array.from({ length: p.size }, (_, i) => Math.cos(i)),
          p.shape,
        ).keep();
    }
    trainer.optimizer.step(1e-3);

    const store = memoryStore();
    await saveCheckpoint(store, 'frozen.pt', (sink) =>
      writeTrainingCheckpoint(sink, { student, teacher, optimizer: trainer.optimizer, epoch: 0, name: 'frozen', lr: 1e-3 }),
    );
    const source = await store.source('frozen.pt');
    await expect(readTrainingCheckpoint(source)).rejects.toThrow(/say which with `trainable`/);
    const back = await readTrainingCheckpoint(source, { trainable });
    expect([...back.student.keys()]).toEqual(student.namedParameters().map(([n]) => n));
    expect([...back.optimizer!.params].sort()).toEqual([...trainable].sort());
    expect([...back.optimizer!.state.keys()].sort()).toEqual([...updated].sort());
    expect(back.optimizer!.state.has(untouched!)).toBe(false);

    // Into a trainer of every parameter, which has moved on: the checkpoint's state comes back, the rest starts afresh.
    const full = freshTrainer(false);
    for (const [, p] of full.student.namedParameters()) p.grad = fromArray(new Float32Array(p.size).fill(0.5), p.shape).keep();
    full.trainer.optimizer.step(1e-3);
    await restoreTrainingCheckpoint(back, { student: full.student, teacher: full.teacher, optimizer: full.trainer.optimizer });
    await expectModelHolds(full.student, back.student);
    for (const s of full.trainer.optimizer.state().params) {
      const saved = back.optimizer!.state.get(s.name);
      expect(s.step, s.name).toBe(saved ? 1 : 0);
      const want = saved ? await saved.expAvg.read() : new Float32Array(s.expAvg.size);
      expect(bitsOf(await s.expAvg.readFloat()), s.name).toEqual(bitsOf(want));
    }
    expect(full.trainer.optimizer.state().step).toBe(1);
    full.dispose();
    dispose();
  });

  it('refuses what it cannot restore, naming the problem', async () => {
    const { student, teacher, trainer, dispose } = freshTrainer();
    const ckpt = await openFixture('written.pt');
    expect(() => trainer.optimizer.restoreSteps(new Map([['nope', 1]]))).toThrow(/nope is not one of this optimizer's parameters/);
    expect(() => trainer.optimizer.restoreSteps(new Map([['logit_scale', 1.5]]))).toThrow(/step 1.5, not a count/);
    await expect(readTrainingCheckpoint(await open(join(DIR, 'written.pt')), { trainable: ['visual.nope'] })).rejects.toThrow(/visual.nope/);
    const other = cosmosModel({ ...config, embedDim: 8 }, 1);
    await expect(restoreTrainingCheckpoint(ckpt, { student: other, teacher: null, optimizer: null })).rejects.toThrow(/does not match the model/);
    await expect(restoreTrainingCheckpoint({ ...ckpt, optimizer: null }, { student, teacher, optimizer: trainer.optimizer })).rejects.toThrow(
      /no optimizer state/,
    );
    const weightsOnly = await readTrainingCheckpoint(await open(join(ROOT, 'fixtures', 'checkpoints', 'bare-state-dict.pt'))).catch((e: Error) => e);
    expect(String(weightsOnly)).toMatch(/not a COSMOS training checkpoint/);
    other.dispose();
    dispose();
  });
});
