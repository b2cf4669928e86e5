/**
 * The CLI commands on a tiny checkpoint written at test time: each command's JSON must carry what the library
 * functions it wraps compute on the same inputs (those are checked against PyTorch in their own tests), in the
 * shape the CLI contract (issues 4 and 5) names.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import pngjs from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32 } from '../checkpoint/dtypes.ts';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { openModelFiles } from '../checkpoint/modelFiles.ts';
import { fileSource, nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { fromOpenClipConfig, toOpenClipConfig } from '../cosmos/config.ts';
import { cosmosModelFromCheckpoint } from '../cosmos/load.ts';
import { type CosmosModel, isCosmosPart } from '../cosmos/model.ts';
import { lossTerms } from '../cosmos/objective.ts';
import { decodeImageFile } from '../data/image-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { stackRows } from '../eval/batched.ts';
import { classEmbeddings, classifyImages } from '../eval/classify.ts';
import { embed } from '../eval/embed.ts';
import { normalizeForClip, preprocessForClip } from '../data/preprocess.ts';
import { similarityMatrix } from '../eval/retrieval.ts';
import { promptsFor } from '../eval/templates.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { noGrad } from '../tensor/engine.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { CLI_TEST_CONFIG, cli, cliJson, tempDir, writeTestCheckpoint, writeTestPng } from '../testing/cli.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
const at = (name: string) => join(tmp.dir, name);
const CKPT = at('tiny.pt');
const IMAGES = [at('a.png'), at('b.png'), at('c.png')];
const TEXTS = ['a red square', 'a photo of a dog.', 'Two cats, sleeping!'];

let tokenizer: ClipTokenizer;
const models: Partial<Record<'student' | 'teacher', CosmosModel>> = {};

async function loadWeights(weights: 'student' | 'teacher'): Promise<CosmosModel> {
  const source = await fileSource(CKPT);
  try {
    return await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0);
  } finally {
    await source.close();
  }
}

/** Bit patterns: exact comparison that stays fast for the 3-million-value token embedding. */
const bytes = (values: Float32Array) => Buffer.from(values.buffer, values.byteOffset, values.byteLength);

const preprocessed = async (paths: string[]) =>
  Promise.all(paths.map(async (p) => preprocessForClip(await decodeImageFile(p), CLI_TEST_CONFIG.vision.imageSize)));

beforeAll(async () => {
  await writeTestCheckpoint(CKPT);
  await Promise.all(IMAGES.map((path, i) => writeTestPng(path, [40, 32, 29][i]!, [30, 32, 50][i]!, i)));
  tokenizer = await loadClipTokenizer();
  models.student = await loadWeights('student');
  models.teacher = await loadWeights('teacher');
});
afterAll(() => {
  models.student?.dispose();
  models.teacher?.dispose();
  tmp.remove();
});

describe('tokenize and inspect', () => {
  it('tokenize --json: 77 ids per text, as the tokenizer gives them', async () => {
    const out = await cliJson<{ tokens: number[][] }>(runtime, 'tokenize', '--text', ...TEXTS);
    expect(out).toEqual({ tokens: tokenizer.tokenize(TEXTS).map((row) => [...row]) });
  });

  it('inspect --json: layout, counts, dtypes and the inferred config in OpenCLIP schema', async () => {
    const out = await cliJson<Record<string, unknown>>(runtime, 'inspect', '--checkpoint', CKPT);
    const parameters = models.student!.namedParameters();
    expect(out).toEqual({
      file: CKPT,
      kind: 'COSMOS',
      format: 'pt',
      weights_files: [basename(CKPT)],
      config_file: null,
      architecture: 'ViT (width 64, 1 layer, 8 px patches, 32 px images)',
      top_level_keys: ['epoch', 'name', 'student', 'teacher', 'optimizer'],
      epoch: 2,
      name: 'cli-test',
      weights: 'student',
      tensor_count: parameters.length,
      parameter_count: parameters.reduce((n, [, t]) => n + t.size, 0),
      dtypes: { float32: parameters.length },
      config: toOpenClipConfig(CLI_TEST_CONFIG),
    });
    expect(fromOpenClipConfig(toOpenClipConfig(CLI_TEST_CONFIG))).toEqual(CLI_TEST_CONFIG);
  });
});

describe('embed', () => {
  it('embeddings, logits and both attention maps, as embed() gives them', async () => {
    const out = await cliJson<Record<string, number[][] | number[][][]>>(
      runtime,
      'embed',
      '--checkpoint',
      CKPT,
      '--image',
      ...IMAGES.slice(0, 2),
      '--text',
      ...TEXTS,
      '--attention',
    );
    const ids = tokenizer.tokenize(TEXTS);
    const want = await embed(models.student!, await preprocessed(IMAGES.slice(0, 2)), ids, { attention: true });
    const rows = (r: Float32Array[]) => r.map((x) => [...x]);
    expect(out.tokens).toEqual(ids.map((row) => [...row]));
    expect(out.image_embeddings).toEqual(rows(want.imageEmbeddings));
    expect(out.text_embeddings).toEqual(rows(want.textEmbeddings));
    expect(out.logits).toEqual(rows(want.logits));
    expect(out.image_attention).toEqual(want.imageAttention!.map(rows));
    expect(out.text_attention).toEqual(want.textAttention!.map(rows));
    expect((out.image_attention as number[][][])[1]![2]).toHaveLength(16); // the 4x4 patch grid
    expect((out.text_attention as number[][][])[1]![2]).toHaveLength(77);
  });

  it('--weights teacher and --config C.json', async () => {
    const config = at('config.json');
    await writeFile(config, JSON.stringify(toOpenClipConfig(CLI_TEST_CONFIG)));
    const args = ['embed', '--checkpoint', CKPT, '--image', IMAGES[0]!, '--text', TEXTS[0]!];
    const teacher = await cliJson<{ logits: number[][] }>(runtime, ...args, '--weights', 'teacher', '--config', config);
    const want = await embed(models.teacher!, await preprocessed(IMAGES.slice(0, 1)), tokenizer.tokenize(TEXTS.slice(0, 1)));
    expect(teacher.logits).toEqual([[...want.logits[0]!]]);
    const student = await cliJson<{ logits: number[][]; image_attention?: unknown }>(runtime, ...args);
    expect(student.logits[0]![0]).not.toEqual(teacher.logits[0]![0]);
    expect(student.image_attention).toBeUndefined();
  });
});

describe('export', () => {
  for (const [file, weights] of [
    ['student.pt', 'student'],
    ['teacher.safetensors', 'teacher'],
  ] as const) {
    it(`${weights} -> ${file}: a bare state_dict, every tensor bit for bit, no "module." prefix`, async () => {
      const out = await cliJson(runtime, 'export', '--checkpoint', CKPT, '--weights', weights, '--out', at(file));
      const configOut = at(file.replace(/\.\w+$/, '.json'));
      expect(out).toMatchObject({ out: at(file), format: file.endsWith('.pt') ? 'pt' : 'safetensors', weights, config_file: configOut });
      // Its OpenCLIP config beside it, every key named (the poolers' heads too), read back as the same architecture.
      const config = JSON.parse(readFileSync(configOut, 'utf8'));
      expect(config).toEqual(toOpenClipConfig(CLI_TEST_CONFIG));
      expect(config.vision_cfg.attn_pooler_heads).toBe(8);
      expect(config.text_cfg.attn_pooler_heads).toBe(8);
      const source = await fileSource(at(file));
      const written = await loadCheckpoint(source);
      const model = models[weights]!;
      expect(written.meta.topLevelKeys).toEqual(model.namedParameters().map(([name]) => name));
      for (const [name, t] of model.namedParameters())
        expect(bytes(await written.tensors.get(name)!.read()).equals(bytes(await t.readFloat())), name).toBe(true);
      await source.close();
    });
  }

  it("to an OpenCLIP hub folder: every tensor bit for bit, COSMOS's parts included, the config with both poolers' heads", async () => {
    const out = at('hub');
    await cliJson(runtime, 'export', '--checkpoint', CKPT, '--format', 'openclip', '--out', out);
    const hub = JSON.parse(readFileSync(join(out, 'open_clip_config.json'), 'utf8'));
    expect(hub.model_cfg).toEqual(toOpenClipConfig(CLI_TEST_CONFIG));
    const files = await nodeModelFiles(out);
    const written = await openModelFiles(files);
    for (const [name, t] of models.student!.namedParameters())
      expect(bytes(await written.tensors.get(name)!.read()).equals(bytes(await t.readFloat())), name).toBe(true);
    expect(written.tensors.size).toBe(models.student!.namedParameters().length);
    await files.close();
  });

  it("to a Hugging Face folder: the CLIP part, COSMOS's parts left out", async () => {
    const out = await cliJson(runtime, 'export', '--checkpoint', CKPT, '--format', 'huggingface', '--out', at('hf'));
    const cosmosParts = models.student!.namedParameters().filter(([name]) => isCosmosPart(name)).length;
    expect(out).toMatchObject({ format: 'huggingface', dropped_cosmos_tensors: cosmosParts });
  });

  it("--clip-only: the CLIP part bit for bit, COSMOS's parts and the poolers' heads left out, read back as plain CLIP", async () => {
    const out = await cliJson(runtime, 'export', '--checkpoint', CKPT, '--out', at('clip-only.safetensors'), '--clip-only');
    const clipPart = models.student!.namedParameters().filter(([name]) => !isCosmosPart(name));
    expect(out).toMatchObject({ format: 'safetensors', dropped_cosmos_tensors: models.student!.namedParameters().length - clipPart.length });
    expect(JSON.parse(readFileSync(at('clip-only.json'), 'utf8'))).toEqual(toOpenClipConfig(CLI_TEST_CONFIG, { poolers: false }));
    const source = await fileSource(at('clip-only.safetensors'));
    const written = await loadCheckpoint(source);
    expect([...written.tensors.keys()].sort()).toEqual(clipPart.map(([name]) => name).sort());
    for (const [name, t] of clipPart) expect(bytes(await written.tensors.get(name)!.read()).equals(bytes(await t.readFloat())), name).toBe(true);
    await source.close();
    expect(await cliJson(runtime, 'inspect', '--checkpoint', at('clip-only.safetensors'))).toMatchObject({ kind: expect.not.stringMatching(/COSMOS/) });
  });

  it('--dtype float16: every tensor stored as F16, each value the float16 nearest to the float32 one', async () => {
    const out = await cliJson(runtime, 'export', '--checkpoint', CKPT, '--out', at('half.safetensors'), '--dtype', 'float16');
    expect(out).toMatchObject({ format: 'safetensors', dtype: 'float16' });
    const source = await fileSource(at('half.safetensors'));
    const written = await loadCheckpoint(source);
    expect(written.meta.dtypes).toEqual({ float16: models.student!.namedParameters().length });
    for (const [name, t] of models.student!.namedParameters()) {
      const want = toFloat32(fromFloat32(await t.readFloat(), 'float16'), 'float16');
      expect(bytes(await written.tensors.get(name)!.read()).equals(bytes(want)), name).toBe(true);
    }
    await source.close();
    expect((await cli(runtime, 'export', '--checkpoint', CKPT, '--out', at('half.pt'), '--dtype', 'float16')).stderr).toMatch(
      /a \.pt state_dict is written in float32/,
    );
  });

  it('refuses an unknown extension and the source itself', async () => {
    expect((await cli(runtime, 'export', '--checkpoint', CKPT, '--out', at('x.zip'))).stderr).toMatch(
      /x\.zip: name a \.pt, \.pth, \.bin or \.safetensors file, or give --format openclip\|huggingface and a folder/,
    );
    expect((await cli(runtime, 'export', '--checkpoint', CKPT, '--out', CKPT)).stderr).toMatch(/is the checkpoint being read/);
  });
});

describe('zero-shot commands', () => {
  it('classify: classes ranked by the probabilities classifyImages gives with the 80 templates', async () => {
    const names = ['red square', 'dog'];
    const out = await cliJson<{
      classes: string[];
      templates: number;
      probabilities: number[][];
      predictions: { image: string; ranked: { class: string; probability: number }[] }[];
    }>(runtime, 'classify', '--checkpoint', CKPT, '--image', ...IMAGES, '--classes', ' red square,dog ');
    const classes = classEmbeddings(
      models.student!,
      names.map((name) => tokenizer.tokenize(promptsFor(name))),
    );
    const want = await classifyImages(models.student!, await preprocessed(IMAGES), classes);
    classes.dispose();
    expect(out.classes).toEqual(names);
    expect(out.templates).toBe(80);
    expect(out.probabilities).toEqual(want.probabilities.map((r) => [...r]));
    for (const [i, prediction] of out.predictions.entries()) {
      expect(prediction.image).toBe(IMAGES[i]);
      const best = want.probabilities[i]!.indexOf(Math.max(...want.probabilities[i]!));
      expect(prediction.ranked[0]!.class).toBe(names[best]);
      expect(prediction.ranked.map((r) => r.probability)).toEqual([...want.probabilities[i]!].sort((a, b) => b - a));
    }
  });

  it('retrieve: similarity, top-k both ways, recall only for one-to-one pairs', async () => {
    type Out = {
      similarity: number[][];
      image_to_text: { index: number }[][];
      text_to_image: { name: string }[][];
      recall: Record<string, Record<string, number>> | null;
    };
    const out = await cliJson<Out>(runtime, 'retrieve', '--checkpoint', CKPT, '--image', ...IMAGES, '--text', ...TEXTS, '--top-k', '2');
    const want = await similarityMatrix(models.student!, await preprocessed(IMAGES), tokenizer.tokenize(TEXTS));
    expect(out.similarity.flat()).toEqual([...want]);
    expect(out.image_to_text.map((row) => row.length)).toEqual([2, 2, 2]);
    const row0 = out.similarity[0]!;
    expect(row0[out.image_to_text[0]![0]!.index]).toBe(Math.max(...row0));
    expect(Object.keys(out.recall!.image_to_text!)).toEqual(['R@1', 'R@5', 'R@10']);
    expect(out.recall!.text_to_image!['R@5']).toBe(1); // 3 pairs: every caption's image is in its top 5
    const unpaired = await cliJson<Out>(runtime, 'retrieve', '--checkpoint', CKPT, '--image', ...IMAGES.slice(0, 2), '--text', ...TEXTS);
    expect(unpaired.recall).toBeNull();
    expect(unpaired.text_to_image[0]!.map((m) => m.name).sort()).toEqual(IMAGES.slice(0, 2).sort());
  });

  it('segment: teacher weights by default, labels at the image size, the class map as a PNG', async () => {
    type Out = { width: number; height: number; weights: string; csa: boolean; labels: number[][]; fractions: Record<string, number>; background: number };
    const out = await cliJson<Out>(runtime, 'segment', '--checkpoint', CKPT, '--image', IMAGES[2]!, '--classes', 'sky,grass', '--csa', '--out', at('mask.png'));
    expect([out.width, out.height, out.weights, out.csa]).toEqual([29, 50, 'teacher', true]);
    expect(out.labels).toHaveLength(50);
    expect(out.labels.every((row) => row.length === 29 && row.every((l) => l >= -1 && l < 2))).toBe(true);
    expect(Object.keys(out.fractions)).toEqual(['sky', 'grass']);
    expect(out.fractions.sky! + out.fractions.grass! + out.background).toBeCloseTo(1, 6);
    const png = pngjs.PNG.sync.read(readFileSync(at('mask.png')));
    expect([png.width, png.height]).toEqual([29, 50]);
  });
});

describe('loss', () => {
  it('the loss terms lossTerms gives on the same views, student and teacher from the checkpoint', async () => {
    const samples = [0, 1].map((s) => ({
      global_images: [`g${s}0.png`, `g${s}1.png`],
      local_images: [`l${s}0.png`, `l${s}1.png`, `l${s}2.png`],
      captions: ['A dog on grass. It runs', 'a small dog', 'grass', 'the dog', 'green'].map((c) => `${c} ${s}`),
    }));
    for (const [s, sample] of samples.entries()) {
      await Promise.all(sample.global_images.map((p, v) => writeTestPng(at(p), 32, 32, 10 * s + v)));
      await Promise.all(sample.local_images.map((p, v) => writeTestPng(at(p), 16, 16, 10 * s + v + 2)));
    }
    await writeFile(at('batch.json'), JSON.stringify({ samples }));
    const out = await cliJson<{ clip: number; cosmos: number; total: number }>(runtime, 'loss', '--checkpoint', CKPT, '--batch', at('batch.json'));

    const view = async (paths: string[]) => (await Promise.all(paths.map((p) => decodeImageFile(at(p))))).map(normalizeForClip);
    const globals = await Promise.all([0, 1].map((v) => view(samples.map((s) => s.global_images[v]!))));
    const locals = await Promise.all([0, 1, 2].map((v) => view(samples.map((s) => s.local_images[v]!))));
    const want = await scopeAsync(async () => {
      const terms = noGrad(() =>
        lossTerms(
          models.student!,
          models.teacher!,
          {
            globalImages: globals.map((g) => stackRows(g, [3, 32, 32])),
            localImages: locals.map((l) => stackRows(l, [3, 16, 16])),
            captions: samples[0]!.captions.map((_, v) => tokenizer.tokenize(samples.map((s) => s.captions[v]!))),
          },
          'cosmos',
        ),
      );
      return { clip: (await terms.clip.readFloat())[0], cosmos: (await terms.cosmos!.readFloat())[0], total: (await terms.total.readFloat())[0] };
    });
    expect(out).toEqual(want);
    expect(out.total).toBeCloseTo(out.clip + out.cosmos, 5);
  });

  it('rejects views of the wrong size, naming the file and the sample', async () => {
    await writeTestPng(at('big.png'), 40, 40, 0);
    const bad = { samples: [{ global_images: ['big.png', 'big.png'], local_images: [], captions: ['a', 'b'] }] };
    await writeFile(at('bad.json'), JSON.stringify(bad));
    const run = await cli(runtime, 'loss', '--checkpoint', CKPT, '--batch', at('bad.json'), '--json');
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.split('\n').at(-2)).toBe(
      "cosmos loss: big.png (samples[0].global_images[0]) is 40x40: global images must be 32x32, the model's image size",
    );
    expect(run.stderr).not.toMatch(/teacher weights/); // checked before the teacher is loaded
    await writeFile(at('bad.json'), JSON.stringify({ samples: [{ global_images: ['big.png'], local_images: [], captions: ['a', 'b'] }] }));
    expect((await cli(runtime, 'loss', '--checkpoint', CKPT, '--batch', at('bad.json'))).stderr).toMatch(/samples\[0\] has 1 global images; COSMOS takes 2/);
    await writeTestPng(at('l8.png'), 8, 8, 0);
    const mixed = { samples: [{ global_images: ['g00.png', 'g01.png'], local_images: ['l00.png', 'l8.png'], captions: ['a', 'b'] }] };
    await writeFile(at('bad.json'), JSON.stringify(mixed));
    expect((await cli(runtime, 'loss', '--checkpoint', CKPT, '--batch', at('bad.json'))).stderr).toMatch(
      /local_images\[0\] are 16 px, local_images\[1\] 8 px: local images must all be one size\n$/,
    );
  });
});
