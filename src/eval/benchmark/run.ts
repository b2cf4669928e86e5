/**
 * What the three evaluations share: the models evaluated together (student and teacher, or the page's models side by
 * side) in one pass over the images, the hooks that tie a run to the CLI or the worker, and the pass itself.
 */
import type { ClipModel } from '../../cosmos/model.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import type { ImageDecoder, SkippedFile } from '../../data/userData.ts';
import { noGrad } from '../../tensor/engine.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import { type Tensor, fromArray } from '../../tensor/tensor.ts';
import { classEmbeddings } from '../classify.ts';
import { promptsFor } from '../templates.ts';
import { type DecodedImage, decodedBatches, throwIfCancelled } from './imageBatches.ts';
import { type EvalPhase, type EvalProgress, ProgressMeter } from './progress.ts';
import type { EvalImage, EvalSource } from './source.ts';

export interface EvalModel {
  /** How the results name it: "student", "teacher", a file name. */
  label: string;
  model: ClipModel;
}

/** Runs one piece of GPU work: the worker queues it between training steps, the CLI runs it at once. */
export type GpuSection = <T>(work: () => Promise<T>) => Promise<T>;

export interface EvalHooks {
  decode: ImageDecoder;
  /** Aborted: the run stops between batches with EvaluationCancelled. */
  signal?: AbortSignal;
  onProgress?: (p: EvalProgress) => void;
  gpu?: GpuSection;
  /** Images per forward pass (32 by default). */
  batchSize?: number;
  /** Only the first this many images. */
  limit?: number;
}

export interface EvalCounts {
  /** Images evaluated. */
  images: number;
  /** What was passed over, and why. */
  skipped: SkippedFile[];
  /** Wall time of the pass over the images, and its rate. */
  seconds: number;
  imagesPerSecond: number;
}

/** One model's scores (one CSA setting's, for segmentation). */
export interface EvalResult {
  label: string;
  /** CLIP_benchmark's names: image_retrieval_recall@k, text_retrieval_recall@k, acc1, acc5, mean_per_class_recall, miou. */
  metrics: Record<string, number>;
  /** Segmentation: with CSA in the last vision block or not. */
  csa?: boolean;
  /** Segmentation: per class (its first name), null where neither labels nor predictions have it. */
  perClassIou?: Record<string, number | null>;
}

export interface EvalReport extends EvalCounts {
  /** Retrieval: the captions ranked. */
  texts?: number;
  /** Classification and segmentation: the classes; classification: the prompt templates per class. */
  classes?: number;
  templates?: number;
  results: EvalResult[];
}

export const DEFAULT_EVAL_BATCH = 32;

const atOnce: GpuSection = (work) => work();
export const gpuOf = (hooks: EvalHooks): GpuSection => hooks.gpu ?? atOnce;

async function* firstOf(images: AsyncIterable<EvalImage>, limit: number | undefined): AsyncGenerator<EvalImage> {
  if (limit === undefined) return yield* images;
  if (limit <= 0) return;
  let n = 0;
  for await (const image of images) {
    yield image;
    if (++n >= limit) return;
  }
}

/**
 * Decodes the source's images a batch at a time and hands each batch to `each`, reporting progress and stopping
 * between batches when cancelled.
 */
export async function overImages(
  source: EvalSource,
  hooks: EvalHooks,
  each: (batch: DecodedImage[]) => Promise<void>,
  batchSize?: number,
): Promise<EvalCounts> {
  const skipped: SkippedFile[] = [...source.skipped];
  const total = source.total === null ? null : Math.min(source.total, hooks.limit ?? Number.POSITIVE_INFINITY);
  const meter = new ProgressMeter('images', total, hooks.onProgress);
  let fraction: number | undefined;
  const onBytes = (read: number, all: number) => {
    fraction = all > 0 ? read / all : 1;
  };
  let images = 0;
  const stream = firstOf(
    source.images((s) => skipped.push(s), onBytes),
    hooks.limit,
  );
  for await (const batch of decodedBatches(stream, hooks.decode, batchSize ?? hooks.batchSize ?? DEFAULT_EVAL_BATCH, (s) => skipped.push(s))) {
    throwIfCancelled(hooks.signal, `${images} images`);
    await each(batch);
    images += batch.length;
    meter.advance(batch.length, fraction);
  }
  throwIfCancelled(hooks.signal, `${images} images`);
  if (images === 0) throw new Error(`no image of ${source.name} could be read${skipped[0] ? ` (for example ${skipped[0].path}: ${skipped[0].reason})` : ''}`);
  return { images, skipped, seconds: meter.seconds, imagesPerSecond: images / meter.seconds };
}

/** Classes per GPU call when building zero-shot classifiers (the reference's num_classes_per_batch). */
const CLASSES_PER_CALL = 10;

/**
 * [C, E] on the GPU: each name's classifier, the normalized mean of its prompts' normalized embeddings (classify.ts),
 * built a few classes at a time with progress. The caller disposes it.
 */
export async function classifierOf(
  { model }: EvalModel,
  names: readonly string[],
  templates: readonly string[],
  tokenizer: ClipTokenizer,
  hooks: EvalHooks,
  phase: EvalPhase = 'class prompts',
): Promise<Tensor> {
  const gpu = gpuOf(hooks);
  const meter = new ProgressMeter(phase, names.length, hooks.onProgress);
  const rows = new Float32Array(names.length * model.config.embedDim);
  for (let start = 0; start < names.length; start += CLASSES_PER_CALL) {
    throwIfCancelled(hooks.signal, `${start} of ${names.length} classes' prompts`);
    const chunk = names.slice(start, start + CLASSES_PER_CALL);
    const prompts = chunk.map((name) => tokenizer.rowsFor(promptsFor(name, templates), model.config.text));
    const values = await gpu(() => scopeAsync(() => noGrad(() => classEmbeddings(model, prompts)).readFloat()));
    rows.set(values, start * model.config.embedDim);
    meter.advance(chunk.length);
  }
  return gpu(async () => fromArray(rows, [names.length, model.config.embedDim]).keep());
}

/** The distinct image sizes of the models, each image preprocessed once per size. */
export const sizesOf = (models: readonly EvalModel[]): number[] => [...new Set(models.map(({ model }) => model.config.vision.imageSize))];
