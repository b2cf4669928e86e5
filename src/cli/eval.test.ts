/**
 * `cosmos eval` on the small data sets of scripts/make-eval-datasets.py: each layout read as the truth file says
 * it holds (which captions go with which image, each image's class, each label map), and every metric equal to the
 * one computed here from the model's own embeddings of the same images and texts, through the PyTorch-checked
 * embedding functions and the metric functions checked against CLIP_benchmark's and mmsegmentation's computations
 * (metrics.test.ts) — not through the readers, batches and blocks under test.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { modelFromCheckpoint } from '../cosmos/load.ts';
import type { ClipModel } from '../cosmos/model.ts';
import { decodeImageBytes, decodeImageFile } from '../data/image-node.ts';
import { preprocessForClip } from '../data/preprocess.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { shardSamples } from '../data/webdataset.ts';
import { imageEmbeddings, textEmbeddings } from '../eval/batched.ts';
import { ClassificationScores } from '../eval/benchmark/classificationMetrics.ts';
import { folderTree } from '../eval/benchmark/dataTree-node.ts';
import { IMAGENET_CLASSES, imagenetSource } from '../eval/benchmark/imageFolders.ts';
import { rankOf, retrievalMetrics } from '../eval/benchmark/retrievalMetrics.ts';
import { classMap } from '../eval/benchmark/runSegmentation.ts';
import { SegmentationScores } from '../eval/benchmark/segmentationMetrics.ts';
import { classEmbeddings } from '../eval/classify.ts';
import { segmentImage } from '../eval/segment.ts';
import { IMAGENET_TEMPLATES, promptsFor } from '../eval/templates.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { fromArray } from '../tensor/tensor.ts';
import { CLI_TEST_CONFIG, cli, cliJson, tempDir, writeTestCheckpoint } from '../testing/cli.ts';
import { runCli } from './cli.ts';
import { EVAL_DATA, evalFile, evalTruth } from '../testing/evalData.ts';
import { setupTestGpu } from '../testing/gpu.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
const CKPT = join(tmp.dir, 'tiny.pt');
const truth = evalTruth();
let tokenizer: ClipTokenizer;
const models: Partial<Record<'student' | 'teacher', ClipModel>> = {};

beforeAll(async () => {
  await writeTestCheckpoint(CKPT);
  tokenizer = await loadClipTokenizer();
  for (const weights of ['student', 'teacher'] as const) {
    const source = await fileSource(CKPT);
    try {
      models[weights] = await modelFromCheckpoint(await loadCheckpoint(source, { weights }), { config: CLI_TEST_CONFIG });
    } finally {
      await source.close();
    }
  }
});
afterAll(() => {
  models.student?.dispose();
  models.teacher?.dispose();
  tmp.remove();
});

interface EvalJson {
  task: string;
  dataset: string;
  model: { kind: string; weights: string[] };
  counts: Record<string, number>;
  results: { weights: string; csa?: boolean; metrics: Record<string, number>; per_class_iou?: Record<string, number | null> }[];
  skipped: { path: string; reason: string }[];
  images_per_second: number;
}

const evalJson = (...argv: string[]) => cliJson<EvalJson>(runtime, 'eval', '--checkpoint', CKPT, ...argv);

async function embedImages(model: ClipModel, images: Uint8Array[]): Promise<Float32Array[]> {
  const size = model.config.vision.imageSize;
  const pixels = await Promise.all(images.map(async (bytes, i) => preprocessForClip(await decodeImageBytes(bytes, `image ${i}`), size)));
  const flat = await scopeAsync(() => imageEmbeddings(model, pixels).readFloat());
  return rows(flat, model.config.embedDim);
}

async function embedTexts(model: ClipModel, texts: string[]): Promise<Float32Array[]> {
  const flat = await scopeAsync(() => textEmbeddings(model, tokenizer.rowsFor(texts, model.config.text)).readFloat());
  return rows(flat, model.config.embedDim);
}

const rows = (flat: Float32Array, width: number) => Array.from({ length: flat.length / width }, (_, i) => flat.subarray(i * width, (i + 1) * width));

function dots(a: Float32Array[], b: Float32Array[]): Float32Array {
  const out = new Float32Array(a.length * b.length);
  a.forEach((r, i) => {
    b.forEach((c, j) => {
      let s = 0;
      for (let k = 0; k < r.length; k++) s += r[k]! * c[k]!;
      out[i * b.length + j] = s;
    });
  });
  return out;
}

/** Retrieval metrics from the model's embeddings of `images`, each with its captions. */
async function expectedRetrieval(model: ClipModel, images: Uint8Array[], captions: string[][]) {
  const imageRows = await embedImages(model, images);
  const flat = captions.flat();
  const textRows = await embedTexts(model, flat);
  const owner = captions.flatMap((list, i) => list.map(() => i));
  const i2t = dots(imageRows, textRows);
  const t2i = dots(textRows, imageRows);
  const imageToText = imageRows.map((_, i) =>
    rankOf(
      i2t,
      i,
      flat.length,
      owner.flatMap((o, t) => (o === i ? [t] : [])),
    ),
  );
  const textToImage = textRows.map((_, t) => rankOf(t2i, t, imageRows.length, [owner[t]!]));
  return retrievalMetrics(imageToText, textToImage);
}

const fileBytes = async (path: string) => new Uint8Array(await evalFile(path).arrayBuffer());

/** Recall values are fractions of a few dozen queries, computed from the same counts: equal, not close. */
describe('cosmos eval --task retrieval', () => {
  it('--coco: the reference layout; images in first-caption order, captions of unknown images listed', async () => {
    const out = await evalJson('--task', 'retrieval', '--coco', join(EVAL_DATA, 'coco'));
    expect(out.counts).toEqual({ images: truth.coco.length, texts: truth.coco.flatMap((t) => t.captions).length, skipped: 1 });
    expect(out.skipped[0]!.reason).toBe('1 captions name an image id the file does not list');
    const images = await Promise.all(truth.coco.map((t) => fileBytes(`coco/${t.image}`)));
    const expected = await expectedRetrieval(
      models.student!,
      images,
      truth.coco.map((t) => t.captions),
    );
    expect(out.results).toEqual([{ weights: 'student', metrics: expected }]);
  });

  it('--flickr with --weights both: student and teacher in one pass; a missing image named with both places tried', async () => {
    const out = await evalJson(
      '--task',
      'retrieval',
      '--flickr',
      join(EVAL_DATA, 'flickr30k-images', 'flickr30k_test.json'),
      '--weights',
      'both',
      '--batch',
      '3',
    );
    expect(out.model.weights).toEqual(['student', 'teacher']);
    expect(out.skipped).toEqual([
      {
        path: 'flickr30k-images/missing.jpg',
        reason:
          'named in flickr30k-images/flickr30k_test.json, but neither flickr30k-images/flickr30k-images/missing.jpg nor flickr30k-images/missing.jpg exists',
      },
    ]);
    const images = await Promise.all(truth.flickr.map((t) => fileBytes(`flickr30k-images/${t.image}`)));
    const captions = truth.flickr.map((t) => t.captions);
    expect(out.results).toEqual([
      { weights: 'student', metrics: await expectedRetrieval(models.student!, images, captions) },
      { weights: 'teacher', metrics: await expectedRetrieval(models.teacher!, images, captions) },
    ]);
  });

  it('--data shards: jpg, png and webp images, txt or json captions', async () => {
    const out = await evalJson('--task', 'retrieval', '--data', `${EVAL_DATA}/shards/shard-{0000..0001}.tar`);
    const samples = truth.shards.samples;
    expect(samples.some((s) => s.webp)).toBe(true);
    expect(out.counts.images).toBe(samples.length);
    // Only the fixture's deliberately bad members are left out: every webp member is decoded.
    expect(out.skipped.map((s) => s.path.slice(s.path.lastIndexOf(':') + 1))).toEqual(['orphan', 'README', 'broken']);
    const images: Uint8Array[] = [];
    const shards = ['shard-0000.tar', 'shard-0001.tar'].map((name) => ({ name, blob: evalFile(`shards/${name}`) }));
    for await (const s of shardSamples(shards, () => undefined)) images.push(s.image.bytes);
    expect(out.results[0]!.metrics).toEqual(
      await expectedRetrieval(
        models.student!,
        images,
        samples.map((s) => s.captions),
      ),
    );
  });
});

describe('cosmos eval --task classification', () => {
  async function expectedClassification(model: ClipModel, images: Uint8Array[], labels: number[], names: string[], templates: readonly string[]) {
    const classes = await scopeAsync(() =>
      classEmbeddings(
        model,
        names.map((n) => tokenizer.rowsFor(promptsFor(n, templates), model.config.text)),
      ).readFloat(),
    );
    const logits = dots(await embedImages(model, images), rows(classes, model.config.embedDim)).map((v) => 100 * v);
    const scores = new ClassificationScores(names.length);
    scores.add(logits, labels);
    return scores.metrics();
  }

  it("--folders with --classnames and --templates (CLIP_benchmark's {c}): acc1, acc5, mean_per_class_recall", async () => {
    const dir = join(EVAL_DATA, 'folders');
    const out = await evalJson(
      '--task',
      'classification',
      '--folders',
      dir,
      '--classnames',
      join(dir, 'classnames.json'),
      '--templates',
      join(dir, 'templates.json'),
    );
    expect(out.counts).toEqual({ images: 12, classes: 3, templates: 3, skipped: 0 });
    const images = await Promise.all(truth.folders.images.map((t) => fileBytes(`folders/${t.image}`)));
    const templates = ['a photo of a {}.', 'a drawing of a {}.', 'a {} shape.'];
    const expected = await expectedClassification(
      models.student!,
      images,
      truth.folders.images.map((t) => t.label),
      ['blue square', 'green triangle', 'red circle'],
      templates,
    );
    expect(out.results).toEqual([{ weights: 'student', metrics: expected }]);
  });

  it('--data shards with cls members and --classnames; the 80 OpenAI templates by default', async () => {
    const out = await evalJson(
      '--task',
      'classification',
      '--data',
      join(EVAL_DATA, 'shards', 'cls-0000.tar'),
      '--classnames',
      join(EVAL_DATA, 'shards', 'classnames.json'),
      '--limit',
      '6',
    );
    expect(out.counts).toEqual({ images: 6, classes: 3, templates: 80, skipped: 0 });
    const images: Uint8Array[] = [];
    for await (const s of shardSamples([{ name: 'cls-0000.tar', blob: evalFile('shards/cls-0000.tar') }], () => undefined))
      if (images.length < 6) images.push(s.image.bytes);
    const labels = truth.shards.cls.slice(0, 6).map((c) => c.label);
    const expected = await expectedClassification(models.student!, images, labels, ['blue square', 'green triangle', 'red circle'], IMAGENET_TEMPLATES);
    expect(out.results[0]!.metrics).toEqual(expected);
  });

  it("--imagenet: wnid folders labelled by their index among the 1,000 classes, OpenAI's names and 80 templates", async () => {
    // The 1,000 classifiers take minutes on a CPU adapter: the layout is checked here, the scoring above.
    const source = await imagenetSource(folderTree(join(EVAL_DATA, 'imagenet')));
    expect([source.classNames.length, source.templates.length, source.total]).toEqual([1000, 80, truth.imagenet.length]);
    expect(source.classNames.slice(0, 2)).toEqual(['tench', 'goldfish']);
    const got = [];
    for await (const image of source.images(() => undefined)) got.push([image.where, image.label]);
    const index = new Map(IMAGENET_CLASSES.map(([wnid], i) => [wnid, i]));
    expect(got.sort()).toEqual(truth.imagenet.map((t) => [t.image, index.get(t.wnid)]).sort());
  });
});

describe('cosmos eval --task segmentation', () => {
  it('SCLIP with and without CSA: mIoU and per-class IoU from label maps, a class scoring as its best name', async () => {
    const dir = join(EVAL_DATA, 'segmentation');
    const out = await evalJson(
      '--task',
      'segmentation',
      '--images',
      join(dir, 'images'),
      '--labels',
      join(dir, 'labels'),
      '--classes',
      join(dir, 'classes.txt'),
      '--threshold',
      '0.3',
    );
    expect(out.model.weights).toEqual(['teacher']); // SCLIP evaluates the teacher, as `segment` does
    expect(out.skipped).toEqual([{ path: 'orphan.png', reason: 'no image named orphan (.jpg, .jpeg, .png or .webp) in images' }]);
    const { classes, items } = truth.segmentation;
    const model = models.teacher!;
    const queries = classes.flat();
    const queryClass = classes.flatMap((names, c) => names.map(() => c));
    const embeddings = await scopeAsync(() =>
      classEmbeddings(
        model,
        queries.map((q) => tokenizer.rowsFor(promptsFor(q), model.config.text)),
      ).readFloat(),
    );
    const expected = [];
    for (const csa of [false, true]) {
      const scores = new SegmentationScores(classes.length);
      for (const item of items) {
        const image = await decodeImageFile(join(dir, item.image));
        const classTensor = fromArray(embeddings, [queries.length, model.config.embedDim]).keep();
        const seg = await segmentImage(model, image, classTensor, { csa, logitScale: 40, threshold: 0 }).finally(() => classTensor.dispose());
        scores.add(classMap(seg.probabilities, queryClass, classes.length, image.width * image.height, 0.3), item.labels, item.label);
      }
      const { miou, perClassIou } = scores.metrics();
      expected.push({
        weights: 'teacher',
        csa,
        metrics: { miou },
        per_class_iou: Object.fromEntries(classes.map((names, c) => [names[0], Number.isNaN(perClassIou[c]!) ? null : perClassIou[c]])),
      });
    }
    expect(out.results).toEqual(expected);
  });
});

describe('cosmos eval: usage and stopping', () => {
  it('one data set per task, flags of other tasks refused, each in a sentence', async () => {
    const fails = async (...argv: string[]) => (await cli(runtime, 'eval', '--checkpoint', CKPT, ...argv)).stderr.split('\n')[0];
    expect(await fails('--task', 'retrieval')).toBe('cosmos eval: --task retrieval takes one of --coco, --flickr, --data');
    expect(await fails('--task', 'retrieval', '--coco', 'a', '--flickr', 'b')).toBe(
      'cosmos eval: --task retrieval takes one of --coco, --flickr, --data, not 2',
    );
    expect(await fails('--task', 'classification', '--coco', 'a')).toBe('cosmos eval: --coco is for --task retrieval, not classification');
    expect(await fails('--task', 'retrieval', '--coco', join(EVAL_DATA, 'folders'))).toMatch(
      /^cosmos eval: .*annotations\/captions_val2017\.json: cannot read it/,
    );
    expect(await fails('--task', 'classification', '--data', 'x.tar')).toBe(
      'cosmos eval: --data shards with cls labels need --classnames F.json, a list of class names',
    );
  });

  it('Ctrl-C (the cancellation signal) stops between batches: exit code 130, a sentence, nothing on stdout', async () => {
    const stop = new AbortController();
    let stdout = '';
    let stderr = '';
    const code = await runCli(['eval', '--checkpoint', CKPT, '--task', 'retrieval', '--coco', join(EVAL_DATA, 'coco'), '--batch', '2'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => {
        stderr += t;
        if (t.startsWith('images ')) stop.abort();
      },
      runtime: async () => runtime(),
      cancellation: () => stop.signal,
    });
    expect(code).toBe(130);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n').at(-1)).toMatch(/^cosmos eval: cancelled after \d+ images$/);
  });
});
