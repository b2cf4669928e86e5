/**
 * COSMOS losses (COSMOS-SPEC section 5).
 *
 * ClipLoss(A, B, s): for every pair of views (a in A, b in B), 0.5 * [CE(s a b^T, diag) + CE(s b a^T, diag)],
 * averaged over all pairs; a and b are L2-normalized [batch, E]; the other samples of the batch are the negatives.
 * tensor/ops/clipLoss.ts computes it for stacks of views in one op.
 */
import { multiViewClipLoss } from '../tensor/ops/clipLoss.ts';
import { add } from '../tensor/ops/elementwise.ts';
import { concat } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';

export interface CosmosLossInputs {
  /** L_clip of the same batch: ClipLoss(student global images, all student captions, logit_scale). */
  clip: Tensor;
  /** Cross-modal embeddings img_x of every image view [V * B, E] and txt_x of every caption [C * B, E], normalized. */
  imageCross: Tensor;
  textCross: Tensor;
  /** The teacher's 2 global images then its 2 global captions [4 * B, E], normalized, without gradient. */
  teacherViews: Tensor;
  distillLogitScale: Tensor;
  batch: number;
}

export interface CosmosLossTerms {
  clip: Tensor;
  cosmos: Tensor;
  total: Tensor;
}

/**
 * L_clip + L_cosmos, L_cosmos the mean of the four distillation terms ClipLoss(img_x, teacher images),
 * (img_x, teacher captions), (txt_x, teacher images), (txt_x, teacher captions). As many caption views as image
 * views (2 global + the local ones each), so the four terms weigh alike in one ClipLoss of every cross-modal
 * view against every teacher view: the mean over its pairs is the mean of the four.
 */
export function cosmosLoss(x: CosmosLossInputs): CosmosLossTerms {
  const [imageViews, textViews] = [x.imageCross.shape[0]! / x.batch, x.textCross.shape[0]! / x.batch];
  if (imageViews !== textViews) throw new Error(`cosmosLoss: ${imageViews} image views against ${textViews} caption views; COSMOS pairs them one to one`);
  const cosmos = multiViewClipLoss(concat([x.imageCross, x.textCross], 0), x.teacherViews, x.distillLogitScale, x.batch);
  return { clip: x.clip, cosmos, total: add(x.clip, cosmos) };
}
