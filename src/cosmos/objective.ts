/**
 * The COSMOS objective on one batch of views (COSMOS-SPEC sections 2 and 5): the student encodes every image view
 * and every caption, the cross-modal embeddings attend over the first global view's and the first global
 * caption's tokens, and the teacher (no tape) encodes the two global images and the two global captions.
 * In CLIP mode only L_clip is computed: no teacher, no cross-attention.
 */
import { noGrad } from '../tensor/engine.ts';
import { multiViewClipLoss } from '../tensor/ops/clipLoss.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { concat, slice } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { cosmosLoss } from './losses.ts';
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

/**
 * Every caption crop's global feature [C * B, E], and the first global crop's token features (the keys of
 * visual.attn_cross_pool's partner, text_attn_cross_pool). Only those need all positions: the other crops stop at
 * their last EOT (the causal mask makes that exact), the short local sentences apart from the longer global crop.
 */
function encodeCaptions(model: CosmosModel, captions: Int32Array[][]): { global: Tensor; tokens: Tensor } {
  const first = model.encodeText(captions[0]!);
  const groups = [captions.slice(1, 2), captions.slice(2)].filter((g) => g.length > 0);
  const globals = [first.global, ...groups.map((g) => model.encodeText(g.flat(), 'global').global)];
  return { global: globals.length > 1 ? concat(globals, 0) : first.global, tokens: first.tokens };
}

export function lossTerms(student: CosmosModel, teacher: CosmosModel | null, batch: ViewBatch, mode: TrainMode): LossTerms {
  if (batch.globalImages.length !== 2) throw new Error(`COSMOS needs 2 global image views, got ${batch.globalImages.length}`);
  if (batch.captions.length < 2) throw new Error(`COSMOS needs at least the 2 global captions, got ${batch.captions.length}`);
  // Views of one size run as one batch, and every view of a modality is stacked [views * B, E]: the losses take
  // all their pairs from two stacks in one op, and the poolers attend for every view at once.
  const b = batch.globalImages[0]!.shape[0]!;
  const globalFeatures = student.encodeImage(concat(batch.globalImages, 0));
  const text = encodeCaptions(student, batch.captions);
  const clip = multiViewClipLoss(l2Normalize(globalFeatures.global), l2Normalize(text.global), student.logitScale, b);
  if (mode === 'clip') return { clip, cosmos: null, total: clip };
  if (!teacher) throw new Error('COSMOS mode needs a teacher');

  // Local image views matter to the distillation terms only.
  const localFeatures = batch.localImages.length ? student.encodeImage(concat(batch.localImages, 0)) : null;

  const parts = student.cosmos;
  const imageGlobals = localFeatures ? concat([globalFeatures.global, localFeatures.global], 0) : globalFeatures.global;
  const firstImageTokens = parts.imageTokens({ ...globalFeatures, patches: slice(globalFeatures.patches, 0, 0, b) });
  const firstCaptionTokens = parts.textTokens(text);
  const imageCross = parts.crossModalEmbedding(imageGlobals, parts.imageAttendsText(imageGlobals, firstCaptionTokens).out);
  const textCross = parts.crossModalEmbedding(text.global, parts.textAttendsImage(text.global, firstImageTokens).out);
  const teacherViews = noGrad(() =>
    l2Normalize(concat([teacher.encodeImage(concat(batch.globalImages, 0)).global, teacher.encodeText(batch.captions.slice(0, 2).flat(), 'global').global], 0)),
  );
  return cosmosLoss({ clip, imageCross, textCross, teacherViews, distillLogitScale: parts.distillLogitScale, batch: b });
}
