/**
 * Zero-shot semantic segmentation over a labelled data set with the app's SCLIP method (segment.ts: windows of the
 * model's image size, stride half of it, softmax of `logitScale` x cosine over the queries), with and without CSA,
 * every model in one pass over the images. As SCLIP and the COSMOS reference do (clip_segmentor.py), each class
 * scores as the most probable of its queries (its names), the pixel takes the most probable class, and a pixel
 * whose probability is under `threshold` goes to class 0 (the background of data sets that have one; 0 turns this
 * off, SCLIP's default). Scores accumulate per class (segmentationMetrics.ts); nothing grows with the data set.
 */
import { decodeLabelPng } from '../../data/labelMap.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import { segmentImage } from '../segment.ts';
import { IMAGENET_TEMPLATES } from '../templates.ts';
import { type EvalHooks, type EvalReport, type EvalResult, type EvalModel, classifierOf, gpuOf, overImages } from './run.ts';
import { SegmentationScores } from './segmentationMetrics.ts';
import type { SegmentationSource } from './source.ts';

export interface SegmentationOptions {
  /** Which settings to run: with CSA in the last vision block, without, or both. */
  csa: readonly boolean[];
  /** SCLIP's logit scale (40 by default; data-set specific in SCLIP's configs). */
  logitScale: number;
  /** Pixels whose best class probability is under this go to class 0; 0: none do. */
  threshold: number;
}

export interface SegmentationResult extends EvalResult {
  csa: boolean;
  metrics: { miou: number };
  perClassIou: Record<string, number | null>;
}

export interface SegmentationReport extends EvalReport {
  classes: number;
  results: SegmentationResult[];
}

/**
 * Per pixel, the class of the highest probability among its queries' (probabilities [query, pixel]); class 0 where
 * that probability is under `threshold`.
 */
export function classMap(probabilities: Float32Array, queryClass: readonly number[], classes: number, pixels: number, threshold: number): Uint16Array {
  const out = new Uint16Array(pixels);
  const best = new Float32Array(classes);
  for (let p = 0; p < pixels; p++) {
    best.fill(-1);
    for (let q = 0; q < queryClass.length; q++) best[queryClass[q]!] = Math.max(best[queryClass[q]!]!, probabilities[q * pixels + p]!);
    let top = 0;
    for (let c = 1; c < classes; c++) if (best[c]! > best[top]!) top = c;
    out[p] = best[top]! < threshold ? 0 : top;
  }
  return out;
}

export async function evaluateSegmentation(
  models: readonly EvalModel[],
  source: SegmentationSource,
  tokenizer: ClipTokenizer,
  options: SegmentationOptions,
  hooks: EvalHooks,
): Promise<SegmentationReport> {
  const gpu = gpuOf(hooks);
  const queries = source.classes.flat();
  const queryClass = source.classes.flatMap((names, c) => names.map(() => c));
  const classes = source.classes.length;
  const runs = models.flatMap((model, m) => options.csa.map((csa) => ({ model, m, csa, scores: new SegmentationScores(classes) })));
  const classifiers: Tensor[] = [];
  try {
    for (const model of models) classifiers.push(await classifierOf(model, queries, IMAGENET_TEMPLATES, tokenizer, hooks));
    const counts = await overImages(
      source,
      hooks,
      async ([{ image, rgb }]) => {
        const { where, read } = image.labelMap!;
        const labels = await decodeLabelPng(new Uint8Array(await (await read()).arrayBuffer()), where);
        if (labels.width !== rgb.width || labels.height !== rgb.height) {
          throw new Error(`${where} is ${labels.width}x${labels.height} but its image ${image.where} is ${rgb.width}x${rgb.height}`);
        }
        for (const run of runs) {
          const segmentation = await gpu(() =>
            segmentImage(run.model.model, rgb, classifiers[run.m]!, { csa: run.csa, logitScale: options.logitScale, threshold: 0 }),
          );
          run.scores.add(classMap(segmentation.probabilities, queryClass, classes, rgb.width * rgb.height, options.threshold), labels.labels, where);
        }
      },
      1,
    );
    const results = runs.map(({ model, csa, scores }): SegmentationResult => {
      const { miou, perClassIou } = scores.metrics();
      return {
        label: model.label,
        csa,
        metrics: { miou },
        perClassIou: Object.fromEntries(source.classes.map((names, c) => [names[0]!, Number.isNaN(perClassIou[c]!) ? null : perClassIou[c]!])),
      };
    });
    return { ...counts, classes, results };
  } finally {
    await gpu(async () => {
      for (const classifier of classifiers) classifier.dispose();
    });
  }
}
