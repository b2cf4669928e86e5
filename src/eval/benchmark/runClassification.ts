/**
 * Zero-shot classification over a data set (ImageNet's wnid folders, class folders, shards with cls labels), every
 * model in one pass over the images: each model's classifier is built first (classifierOf: the normalized mean of
 * each class's normalized prompt embeddings), then each batch's logits (100 x cosine) are scored and dropped, so
 * memory holds one batch and the per-class counts.
 */
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { preprocessForClip } from '../../data/preprocess.ts';
import { noGrad } from '../../tensor/engine.ts';
import { scale } from '../../tensor/ops/elementwise.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { imageEmbeddings } from '../batched.ts';
import { ZERO_SHOT_LOGIT_SCALE } from '../classify.ts';
import { type ClassificationMetrics, ClassificationScores } from './classificationMetrics.ts';
import { type EvalHooks, type EvalReport, type EvalModel, classifierOf, gpuOf, overImages, sizesOf } from './run.ts';
import type { ClassificationSource } from './source.ts';

export interface ClassificationReport extends EvalReport {
  classes: number;
  templates: number;
  results: { label: string; metrics: ClassificationMetrics }[];
}

export async function evaluateClassification(
  models: readonly EvalModel[],
  source: ClassificationSource,
  tokenizer: ClipTokenizer,
  hooks: EvalHooks,
): Promise<ClassificationReport> {
  const gpu = gpuOf(hooks);
  const classifiers: Tensor[] = [];
  try {
    for (const model of models) classifiers.push(await classifierOf(model, source.classNames, source.templates, tokenizer, hooks));
    const scores = models.map(() => new ClassificationScores(source.classNames.length));
    const counts = await overImages(source, hooks, async (batch) => {
      const inputs = new Map(sizesOf(models).map((size) => [size, batch.map(({ rgb }) => preprocessForClip(rgb, size))]));
      const labels = batch.map(({ image }) => image.label!);
      for (const [m, { model }] of models.entries()) {
        const pixels = inputs.get(model.config.vision.imageSize)!;
        const logits = await gpu(() =>
          scopeAsync(() => noGrad(() => scale(matmul(imageEmbeddings(model, pixels), classifiers[m]!, { transB: true }), ZERO_SHOT_LOGIT_SCALE)).readFloat()),
        );
        scores[m]!.add(logits, labels);
      }
    });
    return {
      ...counts,
      classes: source.classNames.length,
      templates: source.templates.length,
      results: models.map(({ label }, m) => ({ label, metrics: scores[m]!.metrics() })),
    };
  } finally {
    await gpu(async () => {
      for (const classifier of classifiers) classifier.dispose();
    });
  }
}
