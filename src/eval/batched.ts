/**
 * Normalized global embeddings of many images or captions, encoded a few at a time so that activations stay small
 * whatever the count; the results are concatenated on the GPU for the similarity products that follow.
 */
import type { ClipModel } from '../cosmos/model.ts';
import { noGrad } from '../tensor/engine.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { concat } from '../tensor/ops/shape.ts';
import { scope } from '../tensor/scope.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';

/** Images (or captions) per forward pass. */
export const EVAL_BATCH = 32;

/** Consecutive groups of at most `size` items. */
export function batches<T>(items: readonly T[], size = EVAL_BATCH): T[][] {
  return Array.from({ length: Math.ceil(items.length / size) }, (_, i) => items.slice(i * size, (i + 1) * size));
}

/** Host arrays of equal length as one [count, ...shape] tensor. */
export function stackRows(rows: readonly Float32Array[], shape: readonly number[]): Tensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(rows.length * per);
  rows.forEach((row, i) => {
    if (row.length !== per) throw new Error(`item ${i} has ${row.length} values where [${shape.join(', ')}] needs ${per}`);
    data.set(row, i * per);
  });
  return fromArray(data, [rows.length, ...shape]);
}

/** [N, E]: normalized global embeddings of CLIP-preprocessed [3, S, S] images at the model's image size. */
export function imageEmbeddings(model: ClipModel, images: readonly Float32Array[]): Tensor {
  const s = model.config.vision.imageSize;
  return noGrad(() =>
    scope(() =>
      concat(
        batches(images).map((group) => l2Normalize(model.encodeImage(stackRows(group, [3, s, s])).global)),
        0,
      ),
    ),
  );
}

/** [N, E]: normalized global embeddings of token id rows. */
export function textEmbeddings(model: ClipModel, ids: readonly Int32Array[]): Tensor {
  return noGrad(() =>
    scope(() =>
      concat(
        batches(ids).map((group) => l2Normalize(model.encodeText(group, 'global').global)),
        0,
      ),
    ),
  );
}
