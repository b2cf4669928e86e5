/**
 * The views self-distillation compares, for one training example: the global and local image crops (rendered on
 * the GPU by the training code itself, then de-normalized for display) and the global and local text crops.
 * The crops are a fresh draw of the run's recipe (sizes, counts, probabilities), seeded by the run's step: the
 * run's own random stream stays untouched, so looking never changes what the model trains on.
 */
import type { TrainingRun } from '../../cosmos/training.ts';
import { TINY_TRAINING } from '../../cosmos/trainingOptions.ts';
import type { CosmosModel } from '../../cosmos/model.ts';
import { planViews } from '../../cosmos/views/augment.ts';
import { renderViews } from '../../tensor/ops/imageViews.ts';
import { textCrops } from '../../cosmos/views/textCrops.ts';
import type { TrainingData } from '../../data/dataset.ts';
import type { RgbImage } from '../../data/image.ts';
import { CLIP_MEAN, CLIP_STD } from '../../data/preprocess.ts';
import { rng } from '../../data/random.ts';
import { noGradAsync } from '../../tensor/engine.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import { fromArray } from '../../tensor/tensor.ts';
import type { ViewsResult } from '../protocol.ts';

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

/** RGB bytes to [3, H, W] floats in [0, 1], as the training run feeds its sources to renderViews. */
function toChw(image: RgbImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(3 * plane);
  for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) out[c * plane + p] = image.data[p * 3 + c]! / 255;
  return out;
}

/** The views of training example `sceneIndex` of the run's data (the built-in scenes before any run). */
export async function trainingViews(model: CosmosModel, data: TrainingData, run: TrainingRun | null, sceneIndex: number): Promise<ViewsResult> {
  if (!Number.isInteger(sceneIndex) || sceneIndex < 0) throw new Error(`There is no training example ${sceneIndex}: they are numbered from 0.`);
  const o = run?.options ?? TINY_TRAINING;
  const size = o.sourceSize;
  const { image, caption } = data.train(sceneIndex, size);
  const random = rng((run?.step ?? 0) * 0x9e37 + sceneIndex);
  const plans = planViews(random, size, size, { globalSize: model.config.vision.imageSize, localSize: o.localSize, localCount: o.localCount });
  const texts = textCrops(random, caption, o.localCount);
  const images = await scopeAsync(() =>
    noGradAsync(async () => {
      const source = fromArray(toChw(image), [1, 3, size, size]);
      const out: RgbImage[] = [];
      for (const [i, view] of renderViews(source, [plans]).entries()) out.push(denormalize(await view.readFloat(), plans[i]!.size));
      return out;
    }),
  );
  return { kind: 'views', images, texts, caption };
}
