/**
 * A CosmosModel from a checkpoint: architecture from a config (or inferred from shapes), strict key check, then
 * the tensors read and uploaded one at a time, so host memory holds one tensor, never the file.
 */
import { checkKeys } from '../checkpoint/checkKeys.ts';
import type { LoadedCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { gpu } from '../tensor/engine.ts';
import type { CosmosConfig } from './config.ts';
import { CosmosModel } from './model.ts';
import { configFromShapes } from './presets.ts';

export interface LoadProgress {
  tensorsDone: number;
  tensorCount: number;
  bytesDone: number;
  bytesTotal: number;
}

export async function modelFromCheckpoint(
  checkpoint: LoadedCheckpoint,
  options: { config?: CosmosConfig; onProgress?: (p: LoadProgress) => void } = {},
): Promise<CosmosModel> {
  const shapes = new Map([...checkpoint.tensors].map(([k, t]) => [k, t.shape]));
  const config = options.config ?? configFromShapes(shapes);
  const model = new CosmosModel(config, null);
  try {
    const params = model.namedParameters();
    checkKeys(new Map(params.map(([k, t]) => [k, t.shape])), checkpoint.tensors);
    const bytesTotal = params.reduce((s, [, t]) => s + t.byteSize, 0);
    let bytesDone = 0;
    for (const [i, [name, t]] of params.entries()) {
      gpu().write(t.buffer, await checkpoint.tensors.get(name)!.read());
      bytesDone += t.byteSize;
      options.onProgress?.({ tensorsDone: i + 1, tensorCount: params.length, bytesDone, bytesTotal });
    }
    await gpu().sync();
    return model;
  } catch (error) {
    model.dispose();
    throw error;
  }
}
