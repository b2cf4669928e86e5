/**
 * Zero-shot retrieval (COSMOS-SPEC section 7): the cosine similarity of normalized global embeddings, computed on
 * the GPU; ranking.ts ranks it on the host.
 */
import type { ClipModel } from '../cosmos/model.ts';
import { noGrad } from '../tensor/engine.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { imageEmbeddings, textEmbeddings } from './batched.ts';

/** [images x captions] row-major: cosine of every image with every caption. */
export async function similarityMatrix(model: ClipModel, images: readonly Float32Array[], ids: readonly Int32Array[]): Promise<Float32Array> {
  if (images.length === 0 || ids.length === 0) throw new Error('retrieval needs at least one image and one caption');
  return scopeAsync(() => noGrad(() => matmul(imageEmbeddings(model, images), textEmbeddings(model, ids), { transB: true })).readFloat());
}
