/**
 * The COSMOS objective on one batch of views (COSMOS-SPEC sections 2 and 5): the student encodes every image view
 * and every caption, the cross-modal embeddings attend over the first global view's and the first global
 * caption's tokens, and the teacher (no tape) encodes the two global images and the two global captions.
 * In CLIP mode only L_clip is computed: no teacher, no cross-attention.
 */
import { noGrad } from '../tensor/engine.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { concat, slice } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { clipLoss, cosmosLoss } from './losses.ts';
import type { CosmosModel } from './model.ts';

export type TrainMode = 'cosmos' | 'clip';

export interface ViewBatch {
  /** The 2 global image views, [B, 3, G, G] each, CLIP-normalized. */
  globalImages: Tensor[];
  /** The local image views, [B, 3, L, L] each. */
  localImages: Tensor[];
  /** Per text crop (the 2 global ones, then the local ones), the B samples' token id rows, in sample order. */
  captions: Int32Array[][];
}

export interface LossTerms {
  clip: Tensor;
  /** null in CLIP mode. */
  cosmos: Tensor | null;
  total: Tensor;
}

/** Splits a [V * B, ...] tensor into V tensors of B rows. */
function chunks(x: Tensor, count: number): Tensor[] {
  const rows = x.shape[0]! / count;
  return Array.from({ length: count }, (_, i) => slice(x, 0, i * rows, (i + 1) * rows));
}

export function lossTerms(student: CosmosModel, teacher: CosmosModel | null, batch: ViewBatch, mode: TrainMode): LossTerms {
  if (batch.globalImages.length !== 2) throw new Error(`COSMOS needs 2 global image views, got ${batch.globalImages.length}`);
  if (batch.captions.length < 2) throw new Error(`COSMOS needs at least the 2 global captions, got ${batch.captions.length}`);
  // Views of one size run as one batch: fewer, larger products.
  const globalFeatures = student.encodeImage(concat(batch.globalImages, 0));
  const localFeatures = batch.localImages.length ? student.encodeImage(concat(batch.localImages, 0)) : null;
  const text = student.encodeText(batch.captions.flat());
  const imageGlobals = [...chunks(globalFeatures.global, 2), ...(localFeatures ? chunks(localFeatures.global, batch.localImages.length) : [])];
  const textGlobals = chunks(text.global, batch.captions.length);
  const clip = clipLoss(imageGlobals.slice(0, 2).map(l2Normalize), textGlobals.map(l2Normalize), student.logitScale);
  if (mode === 'clip') return { clip, cosmos: null, total: clip };
  if (!teacher) throw new Error('COSMOS mode needs a teacher');

  const b = batch.globalImages[0]!.shape[0]!;
  const parts = student.cosmos;
  const firstImageTokens = parts.imageTokens({ ...globalFeatures, patches: slice(globalFeatures.patches, 0, 0, b) });
  const firstCaptionTokens = parts.textTokens({ ...text, tokens: slice(text.tokens, 0, 0, b) });
  const imageCross = imageGlobals.map((g) => parts.crossModalEmbedding(g, parts.imageAttendsText(g, firstCaptionTokens).out));
  const textCross = textGlobals.map((g) => parts.crossModalEmbedding(g, parts.textAttendsImage(g, firstImageTokens).out));
  const { teacherImage, teacherText } = noGrad(() => ({
    teacherImage: chunks(teacher.encodeImage(concat(batch.globalImages, 0)).global, 2).map(l2Normalize),
    teacherText: chunks(teacher.encodeText(batch.captions.slice(0, 2).flat()).global, 2).map(l2Normalize),
  }));
  return cosmosLoss({ clip, imageCross, textCross, teacherImage, teacherText, distillLogitScale: parts.distillLogitScale });
}
