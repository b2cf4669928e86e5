/**
 * A model from a checkpoint: architecture from a config (or inferred from shapes), COSMOS or plain CLIP as its
 * names say, strict key check, then the tensors read and uploaded one at a time, so host memory holds one tensor,
 * never the file. A plain CLIP checkpoint can also start a COSMOS model: its towers loaded, COSMOS's parts added
 * as the reference starts them when it fine-tunes pretrained CLIP weights (created, then left as they are by its
 * non-strict load).
 */
import { checkKeys } from '../checkpoint/checkKeys.ts';
import type { LoadedCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { rng } from '../data/random.ts';
import { gpu } from '../tensor/engine.ts';
import type { CosmosConfig } from './config.ts';
import { ClipModel, type CosmosModel, isCosmosPart } from './model.ts';
import { configFromShapes } from './presets.ts';

export interface LoadProgress {
  tensorsDone: number;
  tensorCount: number;
  bytesDone: number;
  bytesTotal: number;
}

export interface LoadOptions {
  config?: CosmosConfig;
  onProgress?: (p: LoadProgress) => void;
}

/** Whether the checkpoint holds COSMOS's parts (any of them: a partial set is then reported missing by name). */
export const hasCosmosParts = (checkpoint: LoadedCheckpoint): boolean => [...checkpoint.tensors.keys()].some(isCosmosPart);

async function upload(model: ClipModel, checkpoint: LoadedCheckpoint, names: string[], onProgress?: (p: LoadProgress) => void): Promise<void> {
  const params = new Map(model.namedParameters());
  const bytesTotal = names.reduce((s, name) => s + params.get(name)!.byteSize, 0);
  let bytesDone = 0;
  for (const [i, name] of names.entries()) {
    const t = params.get(name)!;
    gpu().write(t.buffer, await checkpoint.tensors.get(name)!.read());
    bytesDone += t.byteSize;
    onProgress?.({ tensorsDone: i + 1, tensorCount: names.length, bytesDone, bytesTotal });
  }
  await gpu().sync();
}

async function build(checkpoint: LoadedCheckpoint, model: ClipModel, onProgress?: (p: LoadProgress) => void): Promise<void> {
  try {
    const fromFile = model.namedParameters().filter(([name]) => model.cosmos === null || hasCosmosParts(checkpoint) || !isCosmosPart(name));
    checkKeys(new Map(fromFile.map(([k, t]) => [k, t.shape])), checkpoint.tensors);
    await upload(
      model,
      checkpoint,
      fromFile.map(([name]) => name),
      onProgress,
    );
  } catch (error) {
    model.dispose();
    throw error;
  }
}

const configOf = (checkpoint: LoadedCheckpoint, options: LoadOptions): CosmosConfig =>
  options.config ?? configFromShapes(new Map([...checkpoint.tensors].map(([k, t]) => [k, t.shape])));

/** The model the checkpoint holds: COSMOS when it has COSMOS's parts, else plain CLIP. */
export async function modelFromCheckpoint(checkpoint: LoadedCheckpoint, options: LoadOptions = {}): Promise<ClipModel> {
  const model = new ClipModel(configOf(checkpoint, options), { cosmos: hasCosmosParts(checkpoint), random: null });
  await build(checkpoint, model, options.onProgress);
  return model;
}

/**
 * A COSMOS model from the checkpoint: its own when it holds COSMOS's parts; else its CLIP towers with the parts
 * added, drawn from `seed` by the reference's initialization (PyTorch's defaults, both temperatures ln(1/0.07)).
 */
export async function cosmosModelFromCheckpoint(checkpoint: LoadedCheckpoint, seed: number, options: LoadOptions = {}): Promise<CosmosModel> {
  const cosmosRandom = hasCosmosParts(checkpoint) ? null : rng(seed);
  const model = new ClipModel(configOf(checkpoint, options), { cosmos: true, random: null, cosmosRandom });
  await build(checkpoint, model, options.onProgress);
  return model as CosmosModel;
}
