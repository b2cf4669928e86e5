/**
 * Zero-shot classification as CLIP and COSMOS evaluate it (COSMOS-SPEC section 7): a class is the mean of the
 * normalized text embeddings of its prompts (the 80 OpenAI ImageNet templates, templates.ts), re-normalized; an
 * image's logits are 100 * image . class, and its class probabilities their softmax.
 */
import type { ClipModel } from '../cosmos/model.ts';
import { noGrad } from '../tensor/engine.ts';
import { scale } from '../tensor/ops/elementwise.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { mean } from '../tensor/ops/reduce.ts';
import { concat } from '../tensor/ops/shape.ts';
import { softmax } from '../tensor/ops/softmax.ts';
import { scope, scopeAsync } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { imageEmbeddings, textEmbeddings } from './batched.ts';

/** CLIP's fixed zero-shot temperature: logits are 100 times the cosines. */
export const ZERO_SHOT_LOGIT_SCALE = 100;

export interface ClassScores {
  /** [image][class]: 100 * cosine. */
  logits: Float32Array[];
  /** [image][class]: softmax of the logits over the classes. */
  probabilities: Float32Array[];
}

export interface RankedClass {
  name: string;
  index: number;
  probability: number;
}

/**
 * [C, E]: for each class, the mean of its prompts' normalized embeddings, re-normalized. The prompts of one class
 * are encoded together; the caller owns the result.
 */
export function classEmbeddings(model: ClipModel, prompts: readonly Int32Array[][]): Tensor {
  if (prompts.length === 0 || prompts.some((p) => p.length === 0)) throw new Error('zero-shot classes need at least one class and one prompt each');
  return noGrad(() =>
    scope(() =>
      concat(
        prompts.map((ids) => l2Normalize(mean(textEmbeddings(model, ids), 0, true))),
        0,
      ),
    ),
  );
}

/** Zero-shot scores of CLIP-preprocessed [3, S, S] images against class embeddings [C, E]. */
export async function classifyImages(model: ClipModel, images: readonly Float32Array[], classes: Tensor): Promise<ClassScores> {
  const count = classes.shape[0]!;
  return scopeAsync(async () => {
    const { logits, probabilities } = noGrad(() => {
      const logits = scale(matmul(imageEmbeddings(model, images), classes, { transB: true }), ZERO_SHOT_LOGIT_SCALE);
      return { logits, probabilities: softmax(logits) };
    });
    const rows = (values: Float32Array) => Array.from({ length: images.length }, (_, i) => values.slice(i * count, (i + 1) * count));
    return { logits: rows(await logits.readFloat()), probabilities: rows(await probabilities.readFloat()) };
  });
}

/** Classes from the most to the least probable. */
export function rankClasses(probabilities: Float32Array, classNames: readonly string[]): RankedClass[] {
  return classNames
    .map((name, index) => ({ name, index, probability: probabilities[index]! }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index);
}
