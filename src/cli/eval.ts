/**
 * `cosmos eval`: zero-shot evaluation on the user's copy of a benchmark, as the COSMOS reference and CLIP_benchmark
 * score it, with CLIP_benchmark's metric names:
 *
 *   --task retrieval       --coco DIR (annotations/captions_val2017.json, images/val2017/), --flickr FILE
 *                          (flickr30k_test.json), or --data shards: image_retrieval_recall@1/5/10 (captions find their
 *                          image) and text_retrieval_recall@1/5/10 (images find one of their captions)
 *   --task classification  --imagenet DIR (<wnid>/*.JPEG), --folders DIR (a folder per class; --classnames F.json,
 *                          --templates F.json), or --data shards with cls members and --classnames: acc1, acc5,
 *                          mean_per_class_recall
 *   --task segmentation    --images DIR --labels DIR --classes F.txt: miou and per-class IoU, with and without CSA
 *
 * Images stream from disk a batch at a time; `--weights both` evaluates a COSMOS file's student and teacher in the
 * same pass. Progress goes to stderr; Ctrl-C stops after the current batch.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { decodeImageBlobInNode } from '../data/image-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { openShards } from '../data/userData-node.ts';
import { cocoSource } from '../eval/benchmark/coco.ts';
import { folderTree } from '../eval/benchmark/dataTree-node.ts';
import { flickrSource } from '../eval/benchmark/flickr.ts';
import { folderSource, imagenetSource } from '../eval/benchmark/imageFolders.ts';
import { progressLine } from '../eval/benchmark/progress.ts';
import { RECALL_KS } from '../eval/benchmark/retrievalMetrics.ts';
import type { EvalHooks, EvalModel, EvalReport } from '../eval/benchmark/run.ts';
import { evaluateClassification } from '../eval/benchmark/runClassification.ts';
import { evaluateRetrieval } from '../eval/benchmark/runRetrieval.ts';
import { evaluateSegmentation } from '../eval/benchmark/runSegmentation.ts';
import { parseClassesFile, segmentationSource } from '../eval/benchmark/segmentationSet.ts';
import { shardClassificationSource, shardRetrievalSource } from '../eval/benchmark/shardSet.ts';
import type { ClassificationSource, EvalSource, SegmentationSource } from '../eval/benchmark/source.ts';
import { readJson } from '../eval/benchmark/source.ts';
import { IMAGENET_TEMPLATES } from '../eval/templates.ts';
import { UsageError } from './args.ts';
import { type CliContext, defineCommand } from './command.ts';
import { percent } from './format.ts';
import { type LoadedModel, loadModel } from './inputs.ts';

const TASKS = ['retrieval', 'classification', 'segmentation'] as const;
type Task = (typeof TASKS)[number];

/** Which data flags each task takes. */
const TASK_FLAGS: Record<Task, readonly string[]> = {
  retrieval: ['coco', 'flickr', 'data'],
  classification: ['imagenet', 'folders', 'data', 'classnames', 'templates'],
  segmentation: ['images', 'labels', 'classes', 'csa', 'scale', 'threshold'],
};

const flags = {
  checkpoint: { kind: 'string', required: true, value: 'F.pt|DIR' },
  weights: { kind: 'string', choices: ['student', 'teacher', 'both'] },
  config: { kind: 'string', value: 'C.json' },
  task: { kind: 'string', required: true, choices: TASKS },
  coco: { kind: 'string', value: 'DIR' },
  flickr: { kind: 'string', value: 'flickr30k_test.json' },
  imagenet: { kind: 'string', value: 'DIR' },
  folders: { kind: 'string', value: 'DIR' },
  data: { kind: 'string', value: 'A.tar,B.tar' },
  classnames: { kind: 'string', value: 'F.json' },
  templates: { kind: 'string', value: 'F.json' },
  images: { kind: 'string', value: 'DIR' },
  labels: { kind: 'string', value: 'DIR' },
  classes: { kind: 'string', value: 'F.txt' },
  csa: { kind: 'string', choices: ['both', 'on', 'off'] },
  scale: { kind: 'number', min: 0, value: '40' },
  threshold: { kind: 'number', min: 0, value: '0' },
  batch: { kind: 'number', min: 1, value: 'N' },
  limit: { kind: 'number', min: 1, value: 'N' },
} as const;

type Flags = { [K in keyof typeof flags]?: string | number | undefined } & { checkpoint: string; task: Task };

const fileJson = (path: string) => readJson(async () => new Blob([await readFile(path)]), path);

/** The one data flag of a task that is given, or a usage error. */
function oneOf(f: Flags, names: readonly (keyof typeof flags)[]): keyof typeof flags {
  const given = names.filter((name) => f[name] !== undefined);
  if (given.length !== 1)
    throw new UsageError(`--task ${f.task} takes one of ${names.map((n) => `--${n}`).join(', ')}${given.length > 1 ? `, not ${given.length}` : ''}`);
  return given[0]!;
}

async function retrievalSource(f: Flags): Promise<EvalSource> {
  const which = oneOf(f, ['coco', 'flickr', 'data']);
  if (which === 'coco') return cocoSource(folderTree(f.coco as string));
  if (which === 'flickr') {
    // The reference keeps flickr30k_test.json in flickr30k-images/ and resolves "flickr30k-images/x.jpg" from its parent.
    const folder = dirname(f.flickr as string);
    return flickrSource(folderTree(dirname(folder), basename(folder)), `${basename(folder)}/${basename(f.flickr as string)}`);
  }
  return shardRetrievalSource(await openShards(f.data as string));
}

async function classificationSource(f: Flags): Promise<ClassificationSource> {
  const which = oneOf(f, ['imagenet', 'folders', 'data']);
  const classNames = f.classnames === undefined ? undefined : await fileJson(f.classnames as string);
  const templates = f.templates === undefined ? undefined : await fileJson(f.templates as string);
  if (which === 'imagenet') {
    if (classNames !== undefined || templates !== undefined)
      throw new UsageError("--imagenet uses OpenAI's class names and 80 templates: use --folders for others");
    return imagenetSource(folderTree(f.imagenet as string));
  }
  if (which === 'folders') {
    return folderSource(folderTree(f.folders as string), {
      classNames,
      templates,
      classNamesFile: f.classnames as string,
      templatesFile: f.templates as string,
    });
  }
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string'))
    throw new UsageError('--data shards with cls labels need --classnames F.json, a list of class names');
  const source = await folderlessTemplates(templates, f.templates as string | undefined);
  return shardClassificationSource(await openShards(f.data as string), classNames as string[], source);
}

/** --templates for shards: a list of prompts with {} or {c}; the 80 OpenAI templates without it. */
async function folderlessTemplates(templates: unknown, file: string | undefined): Promise<readonly string[]> {
  if (templates === undefined) return IMAGENET_TEMPLATES;
  if (!Array.isArray(templates) || !templates.every((t) => typeof t === 'string' && (t.includes('{}') || t.includes('{c}')))) {
    throw new Error(`${file} must be a JSON list of prompt templates, each with {} (or {c}) where the class name goes`);
  }
  return (templates as string[]).map((t) => t.replace('{c}', '{}'));
}

async function segmentationData(f: Flags): Promise<SegmentationSource> {
  for (const name of ['images', 'labels', 'classes'] as const) if (f[name] === undefined) throw new UsageError(`--task segmentation needs --${name}`);
  let text: string;
  try {
    text = await readFile(f.classes as string, 'utf8');
  } catch (e) {
    throw new Error(`${f.classes}: cannot read the classes file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  const classes = parseClassesFile(text, f.classes as string);
  return segmentationSource(folderTree(f.images as string), '', folderTree(f.labels as string), '', classes);
}

/** The models evaluated together: one set of weights, or a COSMOS file's student and teacher. */
async function loadModels(ctx: CliContext, f: Flags): Promise<LoadedModel[]> {
  const modelFlags = { checkpoint: f.checkpoint, ...(f.config !== undefined ? { config: f.config as string } : {}) };
  if (f.weights !== 'both')
    return [await loadModel(ctx, { ...modelFlags, ...(f.weights ? { weights: f.weights as string } : {}) }, f.task === 'segmentation' ? 'teacher' : 'student')];
  const student = await loadModel(ctx, { ...modelFlags, weights: 'student' satisfies WeightsChoice });
  try {
    return [student, await loadModel(ctx, { ...modelFlags, weights: 'teacher' satisfies WeightsChoice })];
  } catch (error) {
    student.model.dispose();
    throw error;
  }
}

const fraction = (x: number | null) => (x === null || Number.isNaN(x) ? '-' : percent(x));

export const evalCommand = defineCommand({
  name: 'eval',
  summary: 'zero-shot retrieval (COCO, Flickr30k), classification (ImageNet, class folders) or segmentation on your copy of a data set',
  flags,
  async run(given, ctx) {
    const f = given as unknown as Flags;
    for (const task of TASKS) {
      if (task === f.task) continue;
      const wrong = TASK_FLAGS[task].find((name) => f[name as keyof typeof flags] !== undefined && !TASK_FLAGS[f.task].includes(name));
      if (wrong) throw new UsageError(`--${wrong} is for --task ${task}, not ${f.task}`);
    }
    const source = f.task === 'retrieval' ? await retrievalSource(f) : f.task === 'classification' ? await classificationSource(f) : await segmentationData(f);
    const tokenizer = await loadClipTokenizer();
    const loaded = await loadModels(ctx, f);
    const models: EvalModel[] = loaded.map(({ model, weights }) => ({ label: weights, model }));
    const hooks: EvalHooks = {
      decode: decodeImageBlobInNode,
      signal: ctx.cancellation(),
      onProgress: (p) => ctx.status(progressLine(p)),
      ...(f.batch !== undefined ? { batchSize: Math.floor(f.batch as number) } : {}),
      ...(f.limit !== undefined ? { limit: Math.floor(f.limit as number) } : {}),
    };
    ctx.progress(`${source.name}: ${f.task} with the ${models.map((m) => m.label).join(' and ')} weights of ${f.checkpoint}`);
    const started = performance.now();
    let report: EvalReport;
    try {
      if (f.task === 'retrieval') report = await evaluateRetrieval(models, source, tokenizer, hooks);
      else if (f.task === 'classification') report = await evaluateClassification(models, source as ClassificationSource, tokenizer, hooks);
      else {
        const csa = f.csa === 'on' ? [true] : f.csa === 'off' ? [false] : [false, true];
        const options = { csa, logitScale: (f.scale as number | undefined) ?? 40, threshold: (f.threshold as number | undefined) ?? 0 };
        report = await evaluateSegmentation(models, source as SegmentationSource, tokenizer, options, hooks);
      }
    } finally {
      ctx.status(null);
      for (const { model } of models) model.dispose();
    }
    const { source: what } = loaded[0]!;
    const json = {
      task: f.task,
      dataset: source.layout,
      data: source.name,
      model: { checkpoint: f.checkpoint, kind: what.kind, architecture: what.architecture, weights: models.map((m) => m.label) },
      counts: {
        images: report.images,
        ...(typeof report.texts === 'number' ? { texts: report.texts } : {}),
        ...(typeof report.classes === 'number' ? { classes: report.classes } : {}),
        ...(typeof report.templates === 'number' ? { templates: report.templates } : {}),
        skipped: report.skipped.length,
      },
      results: report.results.map((r) => ({
        weights: r.label,
        ...(r.csa !== undefined ? { csa: r.csa } : {}),
        metrics: r.metrics,
        ...(r.perClassIou ? { per_class_iou: r.perClassIou } : {}),
      })),
      skipped: report.skipped,
      seconds: Number(((performance.now() - started) / 1000).toFixed(2)),
      images_per_second: Number(report.imagesPerSecond.toPrecision(4)),
    };
    ctx.result(json, () => {
      const lines = [
        `${source.name}: ${report.images} images${json.counts.skipped ? `, ${json.counts.skipped} skipped` : ''}, ${json.images_per_second} images/s`,
      ];
      for (const r of json.results) {
        const head = `  ${r.weights}${'csa' in r ? (r.csa ? ', CSA' : ', no CSA') : ''}:`;
        if (f.task === 'retrieval') {
          const m = r.metrics as Record<string, number>;
          lines.push(
            `${head} image->text ${RECALL_KS.map((k) => `R@${k} ${fraction(m[`text_retrieval_recall@${k}`]!)}`).join(', ')}; text->image ${RECALL_KS.map((k) => `R@${k} ${fraction(m[`image_retrieval_recall@${k}`]!)}`).join(', ')}`,
          );
        } else
          lines.push(
            `${head} ${Object.entries(r.metrics)
              .map(([k, v]) => `${k} ${fraction(v as number)}`)
              .join(', ')}`,
          );
        if ('per_class_iou' in r && r.per_class_iou)
          lines.push(
            `    ${Object.entries(r.per_class_iou)
              .map(([name, iou]) => `${name} ${fraction(iou)}`)
              .join(', ')}`,
          );
      }
      for (const s of json.skipped.slice(0, 20)) lines.push(`skipped ${s.path}: ${s.reason}`);
      if (json.skipped.length > 20) lines.push(`... and ${json.skipped.length - 20} more skipped (--json lists them all)`);
      return lines.join('\n');
    });
  },
});
