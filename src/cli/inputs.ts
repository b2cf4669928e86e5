/**
 * What several commands read: models (a checkpoint file, or a folder in OpenCLIP's hub or transformers' layout),
 * model configs, images, captions, class lists.
 */
import { readFile } from 'node:fs/promises';
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { openModelFiles, type OpenedModel } from '../checkpoint/modelFiles.ts';
import { nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { type CosmosConfig, fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { cosmosModelFromCheckpoint, modelFromCheckpoint, nonFiniteWarning } from '../cosmos/load.ts';
import { type ClipModel, type CosmosModel, isCosmosModel } from '../cosmos/model.ts';
import { describeSource, type ModelSource, type ResolvedConfig, resolveConfig } from '../cosmos/modelSource.ts';
import type { RgbImage } from '../data/image.ts';
import { decodeImageFile } from '../data/image-node.ts';
import { preprocessForClip } from '../data/preprocess.ts';
import { formatBytes } from '../format.ts';
import type { CliContext } from './command.ts';

/** The flags that choose a model. */
export const MODEL_FLAGS = {
  checkpoint: { kind: 'string', required: true, value: 'F.pt|DIR' },
  weights: { kind: 'string', choices: ['student', 'teacher'] },
  config: { kind: 'string', value: 'C.json' },
} as const;

export interface ModelFlags {
  checkpoint: string;
  weights?: string;
  config?: string;
}

/** A model's index (pickle or header, no tensor read), its architecture, and what it is, in words. */
export interface OpenedCheckpoint extends OpenedModel {
  resolved: ResolvedConfig;
  source: ModelSource;
  close(): Promise<void>;
}

/** An OpenCLIP model-config JSON file. */
export async function readModelConfig(path: string): Promise<CosmosConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new Error(`${path}: cannot read the model config (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`${path}: the model config is not valid JSON (${(error as Error).message})`);
  }
  try {
    return fromOpenClipConfig(json as OpenClipModelConfig);
  } catch (error) {
    throw new Error(`${path}: ${(error as Error).message}`);
  }
}

/** Opens the model at `path` (a file or a folder) with `weights`: its index and config file, no tensor. */
export async function openModel(path: string, weights?: WeightsChoice): Promise<OpenedModel & { close(): Promise<void> }> {
  const files = await nodeModelFiles(path);
  try {
    return { ...(await openModelFiles(files, { weights })), close: () => files.close() };
  } catch (error) {
    await files.close();
    throw error;
  }
}

/** The --config file, as what resolveConfig is given. */
export async function givenConfig(flags: ModelFlags): Promise<ResolvedConfig | undefined> {
  return flags.config ? { config: await readModelConfig(flags.config), from: `--config ${flags.config}` } : undefined;
}

/** Opens the model at `flags.checkpoint` with `weights`, and resolves its architecture. */
export async function openCheckpoint(flags: ModelFlags, weights?: WeightsChoice): Promise<OpenedCheckpoint> {
  const given = await givenConfig(flags);
  const opened = await openModel(flags.checkpoint, weights);
  try {
    const resolved = resolveConfig(opened, flags.checkpoint, given);
    return { ...opened, resolved, source: describeSource(opened, flags.checkpoint, resolved) };
  } catch (error) {
    await opened.close();
    throw error;
  }
}

/** Prints at most every half second, and always the last step. */
function throttled(print: (line: string) => void): (line: string, last: boolean) => void {
  let shown = 0;
  return (line, last) => {
    const now = performance.now();
    if (!last && now - shown < 500) return;
    shown = now;
    print(line);
  };
}

/**
 * The weights a command reads: --weights when given; otherwise `preferred` where the file has it (a COSMOS
 * checkpoint has both), else the file's only set of weights.
 */
async function openWeights(flags: ModelFlags, preferred: WeightsChoice): Promise<OpenedCheckpoint> {
  if (flags.weights) return openCheckpoint(flags, flags.weights as WeightsChoice);
  const checkpoint = await openCheckpoint(flags);
  if (checkpoint.meta.weights === preferred || !checkpoint.meta.topLevelKeys.includes(preferred)) return checkpoint;
  await checkpoint.close();
  return openCheckpoint(flags, preferred);
}

export interface LoadedModel<M extends ClipModel = ClipModel> {
  model: M;
  /** Which weights were loaded: student, teacher, or the file's only state_dict. */
  weights: OpenedModel['meta']['weights'];
  source: ModelSource;
}

type Build<M> = (checkpoint: OpenedCheckpoint, options: Parameters<typeof modelFromCheckpoint>[1]) => Promise<M>;

/** Builds a model from the opened checkpoint with progress on stderr, and closes the checkpoint. */
async function upload<M extends ClipModel>(ctx: CliContext, flags: ModelFlags, checkpoint: OpenedCheckpoint, build: Build<M>): Promise<LoadedModel<M>> {
  try {
    await ctx.gpu();
    const report = throttled(ctx.progress);
    const { weights } = checkpoint.meta;
    const model = await build(checkpoint, {
      config: checkpoint.resolved.config,
      onProgress: (p) =>
        report(
          `${flags.checkpoint}: ${weights} weights, ${p.tensorsDone}/${p.tensorCount} tensors, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
          p.tensorsDone === p.tensorCount,
        ),
      onNonFinite: (tensors) => ctx.progress(nonFiniteWarning(flags.checkpoint, tensors)),
    });
    return { model, weights, source: checkpoint.source };
  } finally {
    await checkpoint.close();
  }
}

/** The model in a checkpoint, on the GPU (COSMOS or plain CLIP): the chosen weights, the architecture resolved. */
export async function loadModel(ctx: CliContext, flags: ModelFlags, preferred: WeightsChoice = 'student'): Promise<LoadedModel> {
  return upload(ctx, flags, await openWeights(flags, preferred), modelFromCheckpoint);
}

/** `loaded` as a COSMOS model, or a sentence naming the plain CLIP model and what `purpose` needs of COSMOS. */
export function requireCosmos({ model, source }: LoadedModel, purpose: string): CosmosModel {
  if (isCosmosModel(model)) return model;
  model.dispose();
  throw new Error(
    `${source.name} holds a plain CLIP model (${source.kind}, ${source.architecture}) without COSMOS's poolers, token mappings and distill_logit_scale, which ${purpose} needs (train --init adds them)`,
  );
}

/**
 * The student and teacher a COSMOS run starts from: the checkpoint's own; for a plain CLIP model, its towers with
 * COSMOS's parts added (drawn from `seed`), and for a checkpoint without a teacher an exact copy of the student, as
 * the reference starts from pretrained CLIP weights. `withTeacher` false (CLIP mode): the student alone.
 */
export async function loadForTraining(
  ctx: CliContext,
  flags: ModelFlags,
  seed: number,
  withTeacher: boolean,
): Promise<{ student: CosmosModel; teacher: CosmosModel | null; source: ModelSource }> {
  const fromFile: Build<CosmosModel> = (checkpoint, options) => cosmosModelFromCheckpoint(checkpoint, seed, options);
  const studentFile = await openCheckpoint(flags, 'student');
  const hasTeacher = studentFile.meta.topLevelKeys.includes('teacher');
  const { model: student, source } = await upload(ctx, flags, studentFile, fromFile);
  if (!withTeacher) return { student, teacher: null, source };
  try {
    const teacher = hasTeacher ? (await upload(ctx, flags, await openCheckpoint(flags, 'teacher'), fromFile)).model : student.copy();
    return { student, teacher, source };
  } catch (error) {
    student.dispose();
    throw error;
  }
}

/** Decoded before any model is loaded, so that a bad image fails fast. */
export async function decodeImages(paths: readonly string[]): Promise<RgbImage[]> {
  return Promise.all(paths.map((path) => decodeImageFile(path)));
}

/** Resized (short side), center-cropped and normalized as OpenCLIP's eval transform, at the model's image size. */
export function preprocessImages(images: readonly RgbImage[], model: ClipModel): Float32Array[] {
  return images.map((image) => preprocessForClip(image, model.config.vision.imageSize));
}
