/** What several commands read: checkpoints and the model in them, model configs, images, captions, class lists. */
import { readFile } from 'node:fs/promises';
import { type CheckpointMeta, loadCheckpoint, type LoadedCheckpoint, type WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { type CosmosConfig, fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { configFromShapes } from '../cosmos/presets.ts';
import { modelFromCheckpoint } from '../cosmos/load.ts';
import type { CosmosModel } from '../cosmos/model.ts';
import type { RgbImage } from '../data/image.ts';
import { decodeImageFile } from '../data/image-node.ts';
import { preprocessForClip } from '../data/preprocess.ts';
import { formatBytes } from '../format.ts';
import type { CliContext } from './command.ts';

/** The flags that choose a model. */
export const MODEL_FLAGS = {
  checkpoint: { kind: 'string', required: true, value: 'F.pt' },
  weights: { kind: 'string', choices: ['student', 'teacher'] },
  config: { kind: 'string', value: 'C.json' },
} as const;

export interface ModelFlags {
  checkpoint: string;
  weights?: string;
  config?: string;
}

export type OpenedCheckpoint = LoadedCheckpoint & { close(): Promise<void> };

/** Opens a checkpoint's index (pickle or header) without reading its tensors. */
export async function openCheckpoint(path: string, weights?: WeightsChoice): Promise<OpenedCheckpoint> {
  let source: Awaited<ReturnType<typeof fileSource>>;
  try {
    source = await fileSource(path);
  } catch (error) {
    throw new Error(`${path}: cannot open the checkpoint (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  try {
    return { ...(await loadCheckpoint(source, { weights })), close: () => source.close() };
  } catch (error) {
    await source.close();
    throw error;
  }
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

/**
 * Refuses architectures the model cannot be built with, such as head counts inferred (at head width 64) from a
 * width that is not a multiple of 64: those need the model's config.
 */
export function checkHeads(config: CosmosConfig): void {
  const towers: [string, number, number][] = [
    ['vision', config.vision.width, config.vision.heads],
    ['text', config.text.width, config.text.heads],
    ['image pooler (visual.attn_cross_pool)', config.embedDim, config.vision.attnPoolerHeads],
    ['text pooler (text_attn_cross_pool)', config.embedDim, config.text.attnPoolerHeads],
  ];
  for (const [tower, width, heads] of towers) {
    if (!Number.isInteger(heads) || heads < 1 || width % heads !== 0) {
      throw new Error(`the ${tower} width ${width} does not split into ${heads} heads (inferred heads are 64 wide: give the model's config, --config C.json)`);
    }
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
 * checkpoint has both), else the file's only state_dict.
 */
async function openWeights(flags: ModelFlags, preferred: WeightsChoice): Promise<OpenedCheckpoint> {
  if (flags.weights) return openCheckpoint(flags.checkpoint, flags.weights as WeightsChoice);
  const checkpoint = await openCheckpoint(flags.checkpoint);
  if (checkpoint.meta.weights === preferred || !checkpoint.meta.topLevelKeys.includes(preferred)) return checkpoint;
  await checkpoint.close();
  return openCheckpoint(flags.checkpoint, preferred);
}

export interface LoadedModel {
  model: CosmosModel;
  /** Which weights were loaded: student, teacher, or the file's only state_dict. */
  weights: CheckpointMeta['weights'];
}

/** The model in a checkpoint, on the GPU: the chosen weights, the architecture from --config or inferred. */
export async function loadModel(ctx: CliContext, flags: ModelFlags, preferred: WeightsChoice = 'student'): Promise<LoadedModel> {
  const config = flags.config ? await readModelConfig(flags.config) : undefined;
  const checkpoint = await openWeights(flags, preferred);
  try {
    checkHeads(config ?? configFromShapes(new Map([...checkpoint.tensors].map(([name, t]) => [name, t.shape]))));
    await ctx.gpu();
    const report = throttled(ctx.progress);
    const { weights } = checkpoint.meta;
    const model = await modelFromCheckpoint(checkpoint, {
      config,
      onProgress: (p) =>
        report(
          `${flags.checkpoint}: ${weights} weights, ${p.tensorsDone}/${p.tensorCount} tensors, ${formatBytes(p.bytesDone)} of ${formatBytes(p.bytesTotal)}`,
          p.tensorsDone === p.tensorCount,
        ),
    });
    return { model, weights };
  } finally {
    await checkpoint.close();
  }
}

/** Decoded before any model is loaded, so that a bad image fails fast. */
export async function decodeImages(paths: readonly string[]): Promise<RgbImage[]> {
  return Promise.all(paths.map((path) => decodeImageFile(path)));
}

/** Resized (short side), center-cropped and normalized as OpenCLIP's eval transform, at the model's image size. */
export function preprocessImages(images: readonly RgbImage[], model: CosmosModel): Float32Array[] {
  return images.map((image) => preprocessForClip(image, model.config.vision.imageSize));
}
