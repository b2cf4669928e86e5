/**
 * SCLIP-style zero-shot segmentation (COSMOS-SPEC section 7), evaluated on the teacher weights by default:
 *
 * 1. the image is resized (Pillow bicubic, as the CLIP preprocessing) so that its short side is the model's image
 *    size S, and CLIP-normalized;
 * 2. windows of S x S with stride S / 2 slide over it (mmseg's slide inference: the last window of an axis is
 *    moved back to end at the border);
 * 3. each window's dense features, ln_post(patch tokens) @ proj, normalized, give cosines against the class
 *    embeddings per patch; optionally with CSA in the last vision block (csa.ts);
 * 4. the patch cosines are upsampled bilinearly to the window's pixels and averaged where windows overlap, then
 *    resized bilinearly to the original image size (PyTorch's F.interpolate, align_corners=False);
 * 5. per pixel, softmax over classes of `logitScale` (40) times the cosines; the label is the most probable class,
 *    or background (-1) where that probability is under `threshold` (0.1).
 *
 * Step 3 runs on the GPU; the resampling and the per-pixel softmax run on the host.
 */
import type { ClipModel } from '../cosmos/model.ts';
import type { RgbImage } from '../data/image.ts';
import { noGrad } from '../tensor/engine.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { scopeAsync } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { batches, stackRows } from './batched.ts';
import { type Planes, resizeBilinear } from './planes.ts';
import { encodeImageWithCsa } from './csa.ts';
import { clipResizeGeometry, normalizeForClip, resizeBicubicPil } from '../data/preprocess.ts';

export const BACKGROUND = -1;

export interface SegmentOptions {
  /** Correlative self-attention in the last vision block. */
  csa?: boolean;
  /** Multiplies the cosines before the softmax over classes (SCLIP's dataset-specific logit scale). */
  logitScale?: number;
  /** Pixels whose highest class probability is below this are background. */
  threshold?: number;
}

export interface Segmentation {
  width: number;
  height: number;
  classes: number;
  /** [class, y, x]: softmax probabilities. */
  probabilities: Float32Array;
  /** [y, x]: the most probable class, or BACKGROUND. */
  labels: Int32Array;
}

/** Start offsets of the windows along an axis of `length` (>= size), mmseg's slide-inference rule. */
export function windowStarts(length: number, size: number, stride: number): number[] {
  const count = Math.floor(Math.max(length - size + stride - 1, 0) / stride) + 1;
  return Array.from({ length: count }, (_, i) => Math.max(Math.min(i * stride + size, length) - size, 0));
}

/** Copies the S x S window at (top, left) of CHW planes. */
function cropPlanes(image: Planes, top: number, left: number, size: number): Float32Array {
  const out = new Float32Array(image.channels * size * size);
  for (let c = 0; c < image.channels; c++) {
    for (let y = 0; y < size; y++) {
      const from = (c * image.height + top + y) * image.width + left;
      out.set(image.data.subarray(from, from + size), (c * size + y) * size);
    }
  }
  return out;
}

/** [windows, patches, classes]: cosines of each window's normalized dense features with the class embeddings. */
async function windowCosines(model: ClipModel, windows: Float32Array[], classes: Tensor, csa: boolean): Promise<Float32Array> {
  const s = model.config.vision.imageSize;
  return scopeAsync(() =>
    noGrad(() => {
      const images = stackRows(windows, [3, s, s]);
      const features = csa ? encodeImageWithCsa(model.visual, images) : model.encodeImage(images);
      return matmul(l2Normalize(model.visual.denseFeatures(features)), classes, { transB: true });
    }).readFloat(),
  );
}

/** Softmax of scale * logits over the class axis of [C, H, W] planes, and the labels. */
function classify(logits: Planes, logitScale: number, threshold: number): Segmentation {
  const { channels: classes, height, width, data } = logits;
  const plane = height * width;
  const probabilities = new Float32Array(data.length);
  const labels = new Int32Array(plane);
  for (let p = 0; p < plane; p++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, logitScale * data[c * plane + p]!);
    let total = 0;
    for (let c = 0; c < classes; c++) total += Math.exp(logitScale * data[c * plane + p]! - max);
    let best = 0;
    for (let c = 0; c < classes; c++) {
      probabilities[c * plane + p] = Math.exp(logitScale * data[c * plane + p]! - max) / total;
      if (probabilities[c * plane + p]! > probabilities[best * plane + p]!) best = c;
    }
    labels[p] = probabilities[best * plane + p]! < threshold ? BACKGROUND : best;
  }
  return { width, height, classes, probabilities, labels };
}

/**
 * Segments a CLIP-normalized image `image` [3, H, W] whose short side is the model's image size (steps 2-5),
 * against class embeddings [C, E], at `outHeight` x `outWidth`.
 */
export async function segmentNormalized(
  model: ClipModel,
  image: Planes,
  classes: Tensor,
  [outHeight, outWidth]: [number, number],
  options: SegmentOptions = {},
): Promise<Segmentation> {
  const { csa = false, logitScale = 40, threshold = 0.1 } = options;
  const { imageSize: s, patchSize } = model.config.vision;
  const grid = s / patchSize;
  if (Math.min(image.height, image.width) !== s) {
    throw new Error(`segmentation: the image is ${image.width}x${image.height}; its short side must be the model's image size ${s}`);
  }
  const count = classes.shape[0]!;
  const stride = Math.floor(s / 2);
  const windows = windowStarts(image.height, s, stride).flatMap((top) => windowStarts(image.width, s, stride).map((left) => ({ top, left })));
  const sum = new Float32Array(count * image.height * image.width);
  const covered = new Float32Array(image.height * image.width);
  for (const group of batches(windows)) {
    const cosines = await windowCosines(
      model,
      group.map(({ top, left }) => cropPlanes(image, top, left, s)),
      classes,
      csa,
    );
    group.forEach(({ top, left }, w) => {
      // [patches, classes] of this window as [classes, grid, grid] planes, then up to the window's pixels.
      const patches = new Float32Array(count * grid * grid);
      for (let p = 0; p < grid * grid; p++) for (let c = 0; c < count; c++) patches[c * grid * grid + p] = cosines[(w * grid * grid + p) * count + c]!;
      const up = resizeBilinear({ channels: count, height: grid, width: grid, data: patches }, s, s).data;
      for (let c = 0; c < count; c++) {
        for (let y = 0; y < s; y++) {
          for (let x = 0; x < s; x++) sum[(c * image.height + top + y) * image.width + left + x]! += up[(c * s + y) * s + x]!;
        }
      }
      for (let y = 0; y < s; y++) for (let x = 0; x < s; x++) covered[(top + y) * image.width + left + x]! += 1;
    });
  }
  const plane = image.height * image.width;
  for (let i = 0; i < sum.length; i++) sum[i]! /= covered[i % plane]!;
  const logits = resizeBilinear({ channels: count, height: image.height, width: image.width, data: sum }, outHeight, outWidth);
  return classify(logits, logitScale, threshold);
}

/** Segments a decoded image at its own size: resize so the short side is the model's image size, normalize, segment. */
export async function segmentImage(model: ClipModel, image: RgbImage, classes: Tensor, options: SegmentOptions = {}): Promise<Segmentation> {
  const s = model.config.vision.imageSize;
  const { resizedWidth, resizedHeight } = clipResizeGeometry(image.width, image.height, s);
  const resized = resizeBicubicPil(image, resizedWidth, resizedHeight);
  const planes = { channels: 3, height: resizedHeight, width: resizedWidth, data: normalizeForClip(resized) };
  return segmentNormalized(model, planes, classes, [image.height, image.width], options);
}
