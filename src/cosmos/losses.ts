/**
 * COSMOS losses (COSMOS-SPEC section 5).
 *
 * ClipLoss(A, B, s): for every pair of views (a in A, b in B), 0.5 * [CE(s a b^T, diag) + CE(s b a^T, diag)],
 * averaged over all pairs; a and b are L2-normalized [batch, E]; the other samples of the batch are the negatives.
 */
import { add, affine, scaleBy } from '../tensor/ops/elementwise.ts';
import { exp } from '../tensor/ops/activation.ts';
import { crossEntropy } from '../tensor/ops/crossEntropy.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { transpose } from '../tensor/ops/shape.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';

/** Targets 0..n-1: sample i's positive is sample i of the other view. */
function diagonalTargets(n: number): Tensor {
  return fromArray(
    Int32Array.from({ length: n }, (_, i) => i),
    [n],
    'i32',
  );
}

export function clipLoss(a: readonly Tensor[], b: readonly Tensor[], logScale: Tensor): Tensor {
  if (a.length === 0 || b.length === 0) throw new Error('clipLoss needs at least one view on each side');
  const scale = exp(logScale);
  const targets = diagonalTargets(a[0]!.shape[0]!);
  let total: Tensor | null = null;
  for (const av of a) {
    for (const bv of b) {
      const logits = scaleBy(matmul(av, bv, { transB: true }), scale);
      const pair = add(crossEntropy(logits, targets), crossEntropy(transpose(logits), targets));
      total = total ? add(total, pair) : pair;
    }
  }
  return affine(total!, 0.5 / (a.length * b.length));
}

export interface CosmosLossInputs {
  /** L_clip of the same batch: clipLoss(student global images, all student captions, logit_scale). */
  clip: Tensor;
  /** Cross-modal embeddings img_x of every image view and txt_x of every caption, normalized. */
  imageCross: readonly Tensor[];
  textCross: readonly Tensor[];
  /** Teacher embeddings of the 2 global images and 2 global captions, normalized, without gradient. */
  teacherImage: readonly Tensor[];
  teacherText: readonly Tensor[];
  distillLogitScale: Tensor;
}

export interface CosmosLossTerms {
  clip: Tensor;
  cosmos: Tensor;
  total: Tensor;
}

/** L_clip + L_cosmos, with L_cosmos the mean of the four cross-modal distillation terms. */
export function cosmosLoss(x: CosmosLossInputs): CosmosLossTerms {
  const s = x.distillLogitScale;
  const terms = [
    clipLoss(x.imageCross, x.teacherImage, s),
    clipLoss(x.imageCross, x.teacherText, s),
    clipLoss(x.textCross, x.teacherImage, s),
    clipLoss(x.textCross, x.teacherText, s),
  ];
  const cosmos = affine(
    terms.reduce((acc, t) => add(acc, t)),
    0.25,
  );
  return { clip: x.clip, cosmos, total: add(x.clip, cosmos) };
}
