/**
 * Zero-shot classification and segmentation of one image against class names the user types, each class the
 * mean of the 80 ImageNet prompt templates (COSMOS-SPEC section 7).
 */
import { parseClassNames } from '../../eval/classNames.ts';
import type { ClipModel } from '../../cosmos/model.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { classEmbeddings, classifyImages, rankClasses } from '../../eval/classify.ts';
import { segmentImage } from '../../eval/segment.ts';
import { promptsFor } from '../../eval/templates.ts';
import type { Tensor } from '../../tensor/tensor.ts';
import type { ImageInput, SegmentResult, ZeroShotResult } from '../protocol.ts';
import { DISPLAY_SIZE, prepareImage, sourceImage, type SceneSource } from './inputs.ts';
import type { RgbImage } from '../../data/image.ts';
import { resizeBicubicPil } from '../../data/preprocess.ts';

/** Segmentation maps are computed at most this many pixels on a side (the user's picture is scaled down). */
export const SEGMENT_MAX_SIZE = 448;

/** The image, scaled down (aspect kept) when its long side is over `max`: the label map is this size. */
function fitWithin(image: RgbImage, max: number): RgbImage {
  const scale = max / Math.max(image.width, image.height);
  if (scale >= 1) return image;
  return resizeBicubicPil(image, Math.max(1, Math.round(image.width * scale)), Math.max(1, Math.round(image.height * scale)));
}

/** Trimmed, non-empty, distinct class names; a sentence for the user otherwise. */
/** Runs `use` with the classes' embeddings [C, E], released afterwards. */
async function withClasses<T>(model: ClipModel, tokenizer: ClipTokenizer, names: string[], use: (classes: Tensor) => Promise<T>): Promise<T> {
  const classes = classEmbeddings(
    model,
    names.map((name) => tokenizer.rowsFor(promptsFor(name), model.config.text)),
  );
  try {
    return await use(classes);
  } finally {
    classes.dispose();
  }
}

export async function zeroShot(model: ClipModel, scenes: SceneSource, tokenizer: ClipTokenizer, input: ImageInput, classes: string): Promise<ZeroShotResult> {
  const names = parseClassNames(classes);
  const image = prepareImage(scenes, input, model.config.vision.imageSize);
  const scores = await withClasses(model, tokenizer, names, (embeddings) => classifyImages(model, [image.pixels], embeddings));
  return { kind: 'zeroShot', ranked: rankClasses(scores.probabilities[0]!, names).map(({ name, probability }) => ({ label: name, probability })) };
}

export async function segment(
  model: ClipModel,
  scenes: SceneSource,
  tokenizer: ClipTokenizer,
  input: ImageInput,
  classes: string,
  csa: boolean,
): Promise<SegmentResult> {
  const names = parseClassNames(classes);
  const size = Math.max(DISPLAY_SIZE, model.config.vision.imageSize);
  const image = fitWithin(sourceImage(scenes, input, size), SEGMENT_MAX_SIZE);
  const segmentation = await withClasses(model, tokenizer, names, (embeddings) => segmentImage(model, image, embeddings, { csa }));
  return { kind: 'segment', image, labels: Int16Array.from(segmentation.labels), classes: names };
}
