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

/** A tensor of the checkpoint that holds values no trained weight holds. */
export interface NonFiniteTensor {
  name: string;
  nan: number;
  infinite: number;
}

export interface LoadOptions {
  config?: CosmosConfig;
  onProgress?: (p: LoadProgress) => void;
  /** Told once the model is loaded when tensors held NaN or infinities (they are loaded as they are). */
  onNonFinite?: (tensors: NonFiniteTensor[]) => void;
}

function countNonFinite(name: string, values: Float32Array): NonFiniteTensor | null {
  let nan = 0;
  let infinite = 0;
  for (const v of values) {
    if (Number.isNaN(v)) nan++;
    else if (v === Infinity || v === -Infinity) infinite++;
  }
  return nan || infinite ? { name, nan, infinite } : null;
}

/** The warning, in one sentence naming the file and the tensors: "run.pt: 2 tensors hold NaN or infinite values (...)". */
export function nonFiniteWarning(file: string, tensors: readonly NonFiniteTensor[]): string {
  const counts = (t: NonFiniteTensor) => [t.nan && `${t.nan} NaN`, t.infinite && `${t.infinite} infinite`].filter(Boolean).join(', ');
  const listed = tensors.map((t) => `${t.name}: ${counts(t)}`).join('; ');
  const what = tensors.length === 1 ? '1 tensor holds' : `${tensors.length} tensors hold`;
  return `Warning: in ${file}, ${what} NaN or infinite values (${listed}); whatever uses them computes NaN, and training from them skips every step.`;
}

/** Whether the checkpoint holds COSMOS's parts (any of them: a partial set is then reported missing by name). */
export const hasCosmosParts = (checkpoint: LoadedCheckpoint): boolean => [...checkpoint.tensors.keys()].some(isCosmosPart);

async function upload(model: ClipModel, checkpoint: LoadedCheckpoint, names: string[], { onProgress, onNonFinite }: LoadOptions): Promise<void> {
  const params = new Map(model.namedParameters());
  const bytesTotal = names.reduce((s, name) => s + params.get(name)!.byteSize, 0);
  let bytesDone = 0;
  const nonFinite: NonFiniteTensor[] = [];
  for (const [i, name] of names.entries()) {
    const t = params.get(name)!;
    const values = await checkpoint.tensors.get(name)!.read();
    const found = countNonFinite(name, values);
    if (found) nonFinite.push(found);
    gpu().write(t.range, values);
    bytesDone += t.byteSize;
    onProgress?.({ tensorsDone: i + 1, tensorCount: names.length, bytesDone, bytesTotal });
  }
  await gpu().sync();
  if (nonFinite.length) onNonFinite?.(nonFinite);
}

async function build(checkpoint: LoadedCheckpoint, model: ClipModel, options: LoadOptions): Promise<void> {
  try {
    const fromFile = model.namedParameters().filter(([name]) => model.cosmos === null || hasCosmosParts(checkpoint) || !isCosmosPart(name));
    checkKeys(new Map(fromFile.map(([k, t]) => [k, t.shape])), checkpoint.tensors);
    await upload(
      model,
      checkpoint,
      fromFile.map(([name]) => name),
      options,
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
  await build(checkpoint, model, options);
  return model;
}

/**
 * A COSMOS model from the checkpoint: its own when it holds COSMOS's parts; else its CLIP towers with the parts
 * added, drawn from `seed` by the reference's initialization (PyTorch's defaults, both temperatures ln(1/0.07)).
 */
export async function cosmosModelFromCheckpoint(checkpoint: LoadedCheckpoint, seed: number, options: LoadOptions = {}): Promise<CosmosModel> {
  const cosmosRandom = hasCosmosParts(checkpoint) ? null : rng(seed);
  const model = new ClipModel(configOf(checkpoint, options), { cosmos: true, random: null, cosmosRandom });
  await build(checkpoint, model, options);
  return model as CosmosModel;
}
