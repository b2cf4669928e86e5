/**
 * The views self-distillation compares, for one sample of one training step: the global and local image crops
 * (rendered on the GPU by the training code itself, then de-normalized for display) and the global and local text
 * crops. For the step the run trained last, they are exactly the views it trained on (its plans rendered again);
 * for any other step, or when asked to draw again, a fresh draw by the same code (drawViews) from a stream seeded
 * by step, sample and draw, so looking never changes what the model trains on.
 */
import type { CosmosConfig } from '../../cosmos/config.ts';
import { type DrawnViews, drawViews, sourceTensor, type TrainingRun } from '../../cosmos/training.ts';
import { TINY_TRAINING } from '../../cosmos/trainingOptions.ts';
import { type TrainingData, textCropSource } from '../../data/dataset.ts';
import type { RgbImage } from '../../data/image.ts';
import { CLIP_MEAN, CLIP_STD } from '../../data/preprocess.ts';
import { rng } from '../../data/random.ts';
import { noGradAsync } from '../../tensor/engine.ts';
import { renderViews } from '../../tensor/ops/imageViews.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import type { ViewsRequest, ViewsResult } from '../protocol.ts';

/** [3, S, S] CLIP-normalized floats back to 8-bit RGB. */
export function denormalize(chw: Float32Array, size: number): RgbImage {
  const plane = size * size;
  if (chw.length !== 3 * plane) throw new Error(`denormalize: ${chw.length} values for 3 x ${size} x ${size}`);
  const data = new Uint8Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    for (let p = 0; p < plane; p++) {
      const v = (chw[c * plane + p]! * CLIP_STD[c] + CLIP_MEAN[c]) * 255;
      data[p * 3 + c] = Math.min(255, Math.max(0, Math.round(v)));
    }
  }
  return { width: size, height: size, data };
}

/** The views of `request.sample` of training step `request.step` (1-based) of the run (or the recipe before any run). */
export async function trainingViews(config: CosmosConfig, data: TrainingData, run: TrainingRun | null, request: ViewsRequest): Promise<ViewsResult> {
  const { step, sample, draw } = request;
  const o = run?.options ?? TINY_TRAINING;
  if (!Number.isInteger(step) || step < 1) throw new Error(`There is no training step ${step}: steps are numbered from 1.`);
  if (!Number.isInteger(sample) || sample < 0 || sample >= o.batchSize) {
    throw new Error(`There is no sample ${sample} in a batch of ${o.batchSize}: pick one of 0 to ${o.batchSize - 1}.`);
  }
  const trained = run?.lastStepViews;
  const exact = draw === 0 && trained?.step === step;
  const example = exact ? trained.examples[sample]! : (step - 1) * o.batchSize + sample;
  const pair = data.train(example, o.sourceSize);
  const { image, caption } = pair;
  const views: DrawnViews = exact
    ? { plans: [trained.plans[sample]!], texts: [trained.texts[sample]!] }
    : drawViews(rng((step * 0x9e37 + sample) * 0x85eb + draw), [textCropSource(pair)], config, o);
  const plans = views.plans[0]!;
  const images = await scopeAsync(() =>
    noGradAsync(async () => {
      const out: RgbImage[] = [];
      for (const [i, view] of renderViews(sourceTensor([image]), [plans]).entries()) out.push(denormalize(await view.readFloat(), plans[i]!.size));
      return out;
    }),
  );
  return { kind: 'views', step, sample, example, trained: exact, images, texts: views.texts[0]!, caption };
}
