import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { readTorchArchive } from '../checkpoint/torchArchive.ts';
import type { TensorRef } from '../checkpoint/tensorRef.ts';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { fromArray } from '../tensor/tensor.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from './config.ts';
import { cosmosModelFromCheckpoint } from './load.ts';
import { CosmosTrainer } from './trainer.ts';

setupTestGpu();

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'cosmos');
const step = JSON.parse(readFileSync(join(DIR, 'train-step.json'), 'utf8')) as {
  hyper: { lr: number; momentum: number; weight_decay: number; betas: [number, number]; eps: number };
  global_images: FixtureTensor[];
  local_images: FixtureTensor[];
  captions: FixtureTensor[];
  losses: { clip: number; cosmos: number; total: number };
};
const config = fromOpenClipConfig(JSON.parse(readFileSync(join(DIR, 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);

async function load(weights: 'student' | 'teacher') {
  const source = await fileSource(join(DIR, 'tiny.pt'));
  const model = await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0, { config });
  await source.close();
  return model;
}

/** The fixture's fixed views, on the GPU (kept: the caller disposes them). */
function fixtureBatch() {
  return {
    globalImages: step.global_images.map((t) => fromArray(t.data, t.shape).keep()),
    localImages: step.local_images.map((t) => fromArray(t.data, t.shape).keep()),
    captions: step.captions.map((t) => [Int32Array.from(t.data)]),
  };
}

async function expected(): Promise<Record<'grads' | 'student' | 'teacher', Map<string, TensorRef>>> {
  const source = await fileSource(join(DIR, 'train-step.pt'));
  const { tree } = await readTorchArchive(source);
  const root = tree as Map<string, Map<string, TensorRef>>;
  return { grads: root.get('grads')!, student: root.get('student')!, teacher: root.get('teacher')! };
}

describe('one COSMOS training step against the PyTorch reference on fixed views', () => {
  it('matches the loss terms, every gradient, and the student and teacher after EMA, AdamW and clamping', async () => {
    const student = await load('student');
    const teacher = await load('teacher');
    const h = step.hyper;
    const trainer = new CosmosTrainer(student, teacher, { mode: 'cosmos', weightDecay: h.weight_decay, betas: h.betas, eps: h.eps });
    const batch = fixtureBatch();
    const losses = await trainer.step(batch, { lr: h.lr, momentum: h.momentum });
    // Losses are ~2: sums over a few hundred float32 terms agree to ~1e-6 relative.
    expectClose([losses.clip, losses.cosmos, losses.total], [step.losses.clip, step.losses.cosmos, step.losses.total], { rtol: 1e-5, atol: 1e-6 }, 'losses');

    const want = await expected();
    const refGrads = new Map<string, Float32Array>();
    // Gradients flow back through both towers (2 blocks each), the poolers and 80 cross-entropy pairs: float32
    // differences compound to ~1e-6 of the largest gradient; atol is set relative to each tensor's scale.
    for (const [name, p] of student.namedParameters()) {
      const ref = await want.grads.get(name)!.read();
      refGrads.set(name, ref);
      const scale = ref.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      expect(p.grad, name).not.toBeNull();
      expectClose(await p.grad!.readFloat(), ref, { rtol: 1e-3, atol: 1e-4 * scale + 1e-9 }, `grad ${name}`);
    }
    // After the update: AdamW's first step moves a weight by lr * g / (|g| + eps), about lr = 1e-3, so 2e-6 is
    // 0.2% of a step. Where the true gradient is zero (the key bias of an attention: softmax ignores a shift of
    // all scores), both sides hold rounding noise of ~1e-9, which that ratio amplifies to anything up to lr:
    // there, only the step's bound is checked. The teacher moved before the optimizer step: all of it is tight.
    const noiseLevel = 100 * h.eps;
    for (const [which, model] of [
      ['student', student],
      ['teacher', teacher],
    ] as const) {
      for (const [name, p] of model.namedParameters()) {
        const got = await p.readFloat();
        const ref = await want[which].get(name)!.read();
        const grad = refGrads.get(name)!;
        const tight = (i: number) => which === 'teacher' || Math.abs(grad[i]!) >= noiseLevel;
        const pick = (a: Float32Array, keep: boolean) => a.filter((_, i) => tight(i) === keep);
        expectClose(pick(got, true), pick(ref, true), { rtol: 1e-5, atol: 2e-6 }, `${which} ${name}`);
        expectClose(pick(got, false), pick(ref, false), { rtol: 0, atol: 2 * h.lr }, `${which} ${name} (zero-gradient elements)`);
      }
    }
    trainer.dispose();
    student.dispose();
    teacher.dispose();
    for (const t of [...batch.globalImages, ...batch.localImages]) t.dispose();
  });

  it('with frozen towers, trains only the poolers, the token mappings, the projections and the logit scales', async () => {
    const student = await load('student');
    const teacher = await load('teacher');
    const h = step.hyper;
    const trainer = new CosmosTrainer(student, teacher, { mode: 'cosmos', freezeTowers: true });
    const heads = student
      .namedParameters()
      .map(([name]) => name)
      .filter(
        (name) =>
          /^(visual\.attn_cross_pool|text_attn_cross_pool|image_token_mapping|text_token_mapping)\./.test(name) ||
          ['visual.proj', 'text_projection', 'logit_scale', 'distill_logit_scale'].includes(name),
      );
    // 2 poolers x 8 tensors, 2 mappings x 2, 2 projections, 2 scales.
    expect(heads).toHaveLength(24);
    expect(
      trainer.optimizer
        .state()
        .params.map((p) => p.name)
        .sort(),
    ).toEqual([...heads].sort());

    const before = new Map(await Promise.all(student.namedParameters().map(async ([name, p]) => [name, await p.readFloat()] as const)));
    const batch = fixtureBatch();
    await trainer.step(batch, { lr: h.lr, momentum: h.momentum });
    for (const [name, p] of student.namedParameters()) {
      const moved = !(await p.readFloat()).every((v, i) => v === before.get(name)![i]);
      expect(moved, name).toBe(heads.includes(name));
    }
    trainer.dispose();
    student.dispose();
    teacher.dispose();
    for (const t of [...batch.globalImages, ...batch.localImages]) t.dispose();
  });
});
