/**
 * `cosmos train` end to end: on the built-in scenes (one JSON line per step, then the held-out recalls), and
 * fine-tuning a checkpoint on a folder of the user's images with frozen towers (the written .pt keeps every tower
 * weight of the init bit for bit and moves the heads). Numerics of the step itself are checked against PyTorch in
 * src/cosmos/trainer.test.ts.
 */
import { learningRate } from '../cosmos/schedule.ts';
import { trainingOptions } from '../cosmos/trainingOptions.ts';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { openModelFiles } from '../checkpoint/modelFiles.ts';
import { fileSource, nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { isCosmosPart } from '../cosmos/model.ts';
import { readTrainingCheckpoint } from '../cosmos/trainingCheckpoint.ts';
import { EVAL_DATA, evalTruth } from '../testing/evalData.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { cli, tempDir, writeTestCheckpoint, writeTestPng } from '../testing/cli.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
const at = (name: string) => join(tmp.dir, name);
afterAll(() => tmp.remove());

/** stdout of a --json run, one JSON value a line. */
async function trainLines(...argv: string[]): Promise<{ lines: Record<string, unknown>[]; stderr: string }> {
  const run = await cli(runtime, 'train', ...argv, '--json');
  if (run.code !== 0) throw new Error(`cosmos train failed (${run.code}): ${run.stderr}`);
  return {
    lines: run.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>),
    stderr: run.stderr,
  };
}

/** Every tensor of one of a checkpoint's models, by name. */
async function weightsOf(path: string, weights: 'student' | 'teacher'): Promise<Map<string, Float32Array>> {
  const source = await fileSource(path);
  try {
    const { tensors } = await loadCheckpoint(source, { weights });
    return new Map(await Promise.all([...tensors].map(async ([name, t]) => [name, await t.read()] as const)));
  } finally {
    await source.close();
  }
}

describe('cosmos train', () => {
  it('trains the tiny preset on the built-in scenes: a line per step, then the held-out recalls', async () => {
    const { lines } = await trainLines('--preset', 'tiny', '--steps', '2', '--batch', '2', '--eval-count', '8');
    expect(lines).toHaveLength(3);
    expect(lines.slice(0, 2).map((l) => l.step)).toEqual([1, 2]);
    for (const line of lines.slice(0, 2)) {
      expect(Object.keys(line)).toEqual(['step', 'total', 'clip', 'cosmos', 'logit_scale', 'distill_logit_scale', 'lr', 'samples_per_second']);
      expect(Number.isFinite(line.total)).toBe(true);
      expect(line.total).toBeCloseTo((line.clip as number) + (line.cosmos as number), 4);
    }
    // The app's warmup rule (trainingOptions): 2 steps warm up over 1, so both run at the scheduled cosine values.
    const options = trainingOptions({ steps: 2 });
    const lr = [0, 1].map((s) => learningRate(s, options.lr, options.warmupSteps, 2));
    for (const [i, line] of lines.slice(0, 2).entries()) expect(line.lr).toBeCloseTo(lr[i]!, 9);
    expect(Object.keys(lines[2]!)).toEqual(['final', 'step', 'seconds', 'i2t_r1', 'i2t_r5', 't2i_r1', 't2i_r5', 'pointing_cross_attention', 'pointing_dense']);
    // The built-in scenes know where their objects are: the final line has both pointing games.
    for (const key of ['pointing_cross_attention', 'pointing_dense']) expect(lines[2]![key]).toBeGreaterThanOrEqual(0);
    // 8 held-out scenes: recall is a multiple of 1/8.
    for (const key of ['i2t_r1', 'i2t_r5', 't2i_r1', 't2i_r5']) expect(((lines[2]![key] as number) * 8) % 1).toBeCloseTo(0, 6);
  });

  it('fine-tunes a checkpoint on a folder of images with frozen towers, and says what it skipped', async () => {
    const init = at('init.pt');
    await writeTestCheckpoint(init);
    const folder = at('photos');
    mkdirSync(folder);
    for (let i = 0; i < 6; i++) {
      await writeTestPng(join(folder, `p${i}.png`), 40 + i, 36, i);
      writeFileSync(join(folder, `p${i}.txt`), `Picture number ${i}. It has smooth colour gradients.`);
    }
    writeFileSync(join(folder, 'broken.png'), 'not an image');
    writeFileSync(join(folder, 'broken.txt'), 'Never used.');
    const out = at('tuned.pt');

    const { lines, stderr } = await trainLines('--init', init, '--data', folder, '--freeze-towers', '--steps', '2', '--batch', '2', '--out', out);
    expect(lines.map((l) => (l.final ? 'final' : l.step))).toEqual([1, 2, 'final']);
    // The user's photos have no ground truth: no pointing game.
    expect(lines[2]!.pointing_cross_attention).toBeNull();
    expect(stderr).toContain('photos: 6 image-caption pairs (1 held out), captions from per-image .txt files');
    expect(stderr).toMatch(/skipped photos\/broken\.png: .+/);

    const before = await weightsOf(init, 'student');
    const after = await weightsOf(out, 'student');
    const heads =
      /^(visual\.attn_cross_pool|text_attn_cross_pool|image_token_mapping|text_token_mapping)\.|^(visual\.proj|text_projection|logit_scale|distill_logit_scale)$/;
    expect([...after.keys()]).toEqual([...before.keys()]);
    for (const [name, values] of after) {
      const same = Buffer.from(values.buffer, values.byteOffset, values.byteLength).equals(
        Buffer.from(before.get(name)!.buffer, before.get(name)!.byteOffset, before.get(name)!.byteLength),
      );
      // The logit scales may sit at their clamp; every other head moves in two AdamW steps.
      if (!heads.test(name)) expect(same, `${name} is a tower weight: frozen`).toBe(true);
      else if (!name.endsWith('logit_scale')) expect(same, `${name} is trained`).toBe(false);
    }
  });

  it("starts a COSMOS fine-tune from a plain CLIP model: COSMOS's parts added, the teacher a copy, frozen towers train exactly the new parts and the projections", async () => {
    // A plain CLIP model as a Hugging Face CLIPModel folder: the CLIP part of a COSMOS checkpoint.
    const cosmos = at('for-plain.pt');
    await writeTestCheckpoint(cosmos);
    const plain = at('plain-hf');
    expect((await cli(runtime, 'export', '--checkpoint', cosmos, '--format', 'huggingface', '--out', plain)).code).toBe(0);
    const folder = at('plain-photos');
    mkdirSync(folder);
    for (let i = 0; i < 4; i++) {
      await writeTestPng(join(folder, `p${i}.png`), 40, 36, i);
      writeFileSync(join(folder, `p${i}.txt`), `Picture ${i}.`);
    }
    const out = at('from-plain.pt');
    const { lines, stderr } = await trainLines('--init', plain, '--data', folder, '--freeze-towers', '--steps', '2', '--batch', '2', '--out', out);
    expect(lines.map((l) => (l.final ? 'final' : l.step))).toEqual([1, 2, 'final']);
    expect(stderr).toContain('plain-hf: Hugging Face ViT (width 64, 1 layer, 8 px patches, 32 px images)');

    const files = await nodeModelFiles(plain);
    const towers = new Map(await Promise.all([...(await openModelFiles(files)).tensors].map(async ([name, t]) => [name, await t.read()] as const)));
    await files.close();
    const student = await weightsOf(out, 'student');
    const teacher = await weightsOf(out, 'teacher');
    const added = [...student.keys()].filter(isCosmosPart);
    expect(added.length).toBeGreaterThan(0);
    expect([...student.keys()].filter((name) => !isCosmosPart(name)).sort()).toEqual([...towers.keys()].sort());
    const trained = /^(visual\.proj|text_projection|logit_scale)$/;
    for (const [name, values] of student) {
      const bytes = (v: Float32Array) => Buffer.from(v.buffer, v.byteOffset, v.byteLength);
      if (towers.has(name) && !trained.test(name)) expect(bytes(values).equals(bytes(towers.get(name)!)), `${name} is frozen`).toBe(true);
      else if (!name.endsWith('logit_scale')) expect(bytes(values).equals(bytes(towers.get(name) ?? teacher.get(name)!)), `${name} is trained`).toBe(false);
    }
    // The optimizer holds exactly the trained parameters: COSMOS's parts, both projections and logit_scale.
    const trainable = [...added, 'visual.proj', 'text_projection', 'logit_scale'];
    const source = await fileSource(out);
    const { optimizer } = await readTrainingCheckpoint(source, { trainable });
    await source.close();
    expect(optimizer!.params.sort()).toEqual(trainable.sort());
  });

  it('trains on webdataset shards, their WebP members decoded like the jpg and png ones', async () => {
    const samples = evalTruth().shards.samples;
    expect(samples.some((s) => s.webp)).toBe(true);
    const shards = `${EVAL_DATA}/shards/shard-{0000..0001}.tar`;
    const { lines, stderr } = await trainLines('--preset', 'tiny', '--data', shards, '--steps', '1', '--batch', '4', '--eval-count', '4');
    expect(lines.map((l) => (l.final ? 'final' : l.step))).toEqual([1, 'final']);
    expect(Number.isFinite(lines[0]!.total)).toBe(true);
    expect(stderr).toContain(`shard-0000.tar and 1 more shards: ${samples.length} image-caption pairs (1 held out)`);
    expect(stderr).not.toMatch(/WebP|\.webp/);
  });

  it('says why a data path cannot be used', async () => {
    const run = await cli(runtime, 'train', '--data', at('nowhere'), '--steps', '1', '--json');
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('nowhere: cannot read it (ENOENT)');
  });
});
