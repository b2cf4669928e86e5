/**
 * Training from scratch starts where the reference starts: for every tensor of models the COSMOS reference's own
 * code builds (scripts/fixtures/reference_init.py), our model of the same config has the same name, shape and
 * order, and the same rule: the same constant, or values whose mean, spread and bounds agree within sampling error.
 * So does fine-tuning a plain CLIP model: the reference builds CLIP(cosmos=True) and loads the pretrained weights
 * without strictness, so COSMOS's parts keep their initial rule while the towers are the checkpoint's.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { memorySink } from '../checkpoint/byteSink.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { writeSafetensors } from '../checkpoint/safetensors.ts';
import { cosmosModelFromCheckpoint } from '../cosmos/load.ts';
import { ClipModel, cosmosModel, isCosmosPart } from '../cosmos/model.ts';
import { rng } from '../data/random.ts';
import { setupTestGpu } from '../testing/gpu.ts';

setupTestGpu();

type Facts = { shape: number[]; constant: number } | { shape: number[]; mean: number; std: number; max_abs: number };
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'reference', 'init.json'), 'utf8')) as {
  models: Record<string, { config: OpenClipModelConfig; tensors: Record<string, Facts> }>;
};

/** Standard errors allowed between two independent samples of one rule. */
const SIGMAS = 5;
/** A uniform sample's largest magnitude is sqrt(3) standard deviations; a normal sample of 256 or more exceeds 1.2 times that. */
const UNIFORM_EDGE = Math.sqrt(3);

function stats(values: Float32Array) {
  let sum = 0;
  for (const v of values) sum += v;
  const mean = sum / values.length;
  let squares = 0;
  let maxAbs = 0;
  for (const v of values) {
    squares += (v - mean) ** 2;
    maxAbs = Math.max(maxAbs, Math.abs(v));
  }
  return { mean, std: Math.sqrt(squares / values.length), maxAbs };
}

/** Checks `values` of `key` follow the reference's rule `want`: the same constant, or the same mean, spread and bounds. */
function expectFollowsRule(key: string, values: Float32Array, want: Facts): void {
  if ('constant' in want) {
    expect(
      values.every((v) => v === Math.fround(want.constant)),
      `${key}: every element ${want.constant}`,
    ).toBe(true);
    return;
  }
  const n = values.length;
  const got = stats(values);
  expect(got.std, `${key}: not a constant`).toBeGreaterThan(0);
  expect(Math.abs(got.mean - want.mean), `${key}: mean`).toBeLessThan(SIGMAS * want.std * Math.sqrt(2 / n) + 1e-7);
  expect(Math.abs(got.std / want.std - 1), `${key}: standard deviation ${got.std} against ${want.std}`).toBeLessThan(SIGMAS / Math.sqrt(n));
  if (n < 256) return;
  if (want.max_abs < 1.2 * UNIFORM_EDGE * want.std) {
    // Bounded (uniform): ours stays inside the reference's bound, which its largest value nearly reaches.
    expect(got.maxAbs, `${key}: bounded like the reference`).toBeLessThanOrEqual(want.max_abs * (1 + 10 / n));
  } else {
    expect(got.maxAbs, `${key}: unbounded (normal) like the reference`).toBeGreaterThan(1.2 * UNIFORM_EDGE * got.std);
  }
}

/** A plain CLIP model's weights as a loaded checkpoint (a safetensors file in memory). */
async function asCheckpoint(model: ClipModel) {
  const sink = memorySink();
  await writeSafetensors(new Map(model.namedParameters().map(([name, t]) => [name, { shape: t.shape, read: () => t.readFloat() }])), sink);
  return loadCheckpoint(bytesSource(sink.bytes(), 'plain.safetensors'));
}

describe.each(Object.keys(fixture.models))('the reference init of %s', (name) => {
  const { config, tensors } = fixture.models[name]!;

  it('every tensor in the reference order, with its rule', async () => {
    const model = cosmosModel(fromOpenClipConfig(config), 3);
    const ours = model.namedParameters();
    expect(ours.map(([key]) => key)).toEqual(Object.keys(tensors));
    for (const [key, t] of ours) {
      expect(t.shape, key).toEqual(tensors[key]!.shape);
      expectFollowsRule(key, await t.readFloat(), tensors[key]!);
    }
    model.dispose();
  });

  it("a plain CLIP model's towers with COSMOS's parts added as the reference starts them, and the teacher its copy", async () => {
    const plain = new ClipModel(fromOpenClipConfig(config), { cosmos: false, random: rng(5) });
    const model = await cosmosModelFromCheckpoint(await asCheckpoint(plain), 3);
    const teacher = model.copy();
    const towers = new Map(plain.namedParameters());
    const teacherParams = teacher.namedParameters();
    expect(model.namedParameters().map(([key]) => key)).toEqual(Object.keys(tensors));
    for (const [i, [key, t]] of model.namedParameters().entries()) {
      const values = await t.readFloat();
      const same = (a: Float32Array, b: Float32Array) =>
        Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
      if (isCosmosPart(key)) expectFollowsRule(key, values, tensors[key]!);
      else expect(same(values, await towers.get(key)!.readFloat()), `${key}: the checkpoint's, bit for bit`).toBe(true);
      expect(same(await teacherParams[i]![1].readFloat(), values), `teacher ${key}: the student's, bit for bit`).toBe(true);
    }
    for (const m of [plain, model, teacher]) m.dispose();
  });
});
