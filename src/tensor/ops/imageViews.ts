/**
 * COSMOS's augmented image views rendered on the GPU (the `view_*` entries of shaders/image.wgsl): for each view
 * index, a handful of dispatches over the whole batch, each sample reading its own plan (drawn by
 * src/cosmos/views/augment.ts) from a small storage buffer. Pixels follow torchvision 0.14's tensor functions in DINO's order:
 *
 *   F.resized_crop(BICUBIC, antialias=False) -> clamp [0, 1] -> hflip -> ColorJitter ops in the plan's order
 *   (adjust_brightness / adjust_contrast / adjust_saturation / adjust_hue) -> rgb_to_grayscale(3 channels)
 *   -> gaussian_blur(kernel 2 * ceil(3 sigma) + 1, reflect padding) -> solarize(0.5) -> CLIP normalize.
 *
 * The clamp after the resize is ours: torchvision leaves bicubic overshoot in float tensors, a uint8 or PIL
 * pipeline (DINO's) saturates it, and adjust_hue needs non-negative values. No gradients: nothing is recorded.
 */
import source from '../../../shaders/image.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { scope } from '../scope.ts';
import { Tensor, shapeString } from '../tensor.ts';
import { cpuStyleKernels } from './workgroups.ts';

/** Box in source pixels: columns x .. x + w - 1, rows y .. y + h - 1. */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** ColorJitter ops, numbered as torchvision's ColorJitter.forward numbers `fn_idx`. */
export const JITTER_OPS = ['brightness', 'contrast', 'saturation', 'hue'] as const;

export interface JitterPlan {
  /** A permutation of 0..3 (indices into JITTER_OPS): the order the four adjustments are applied in. */
  order: number[];
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
}

export interface ViewPlan {
  crop: CropBox;
  /** The view is size x size pixels. */
  size: number;
  flip: boolean;
  jitter: JitterPlan | null;
  grayscale: boolean;
  /** Gaussian blur standard deviation in output pixels, or null for no blur. */
  blurSigma: number | null;
  solarize: boolean;
}

const IMAGE = shader('image.wgsl', source);
const WG = 64;
/** Words of one sample's ViewSample struct in shaders/image.wgsl. */
const SAMPLE_WORDS = 22;
/** blur_w holds weights at distances 0..6: kernels up to 13 taps, sigma up to 2 (ViewRecipe.blurSigma). */
const MAX_BLUR_RADIUS = 6;
/** jitter_ops nibble for "no op" (no jitter for this sample). */
const NO_JITTER = 0xffff;

/** Gaussian blur kernel radius for a sigma: the kernel 2r + 1 covers +-3 sigma. */
export const blurRadius = (sigma: number): number => Math.ceil(3 * sigma);

/** torchvision's _get_gaussian_kernel1d, at distances 0..radius (the kernel is symmetric). */
function gaussianWeights(sigma: number): number[] {
  const r = blurRadius(sigma);
  const pdf = Array.from({ length: r + 1 }, (_, d) => Math.exp(-0.5 * (d / sigma) ** 2));
  const total = pdf[0]! + 2 * pdf.slice(1).reduce((a, b) => a + b, 0);
  return pdf.map((p) => p / total);
}

function checkPlan(plan: ViewPlan, srcW: number, srcH: number, where: string): void {
  const { x, y, w, h } = plan.crop;
  if (![x, y, w, h, plan.size].every(Number.isInteger) || x < 0 || y < 0 || w < 1 || h < 1 || x + w > srcW || y + h > srcH) {
    throw new Error(`${where}: crop ${JSON.stringify(plan.crop)} is not an integer box inside the ${srcW}x${srcH} image`);
  }
  if (plan.size < 1) throw new Error(`${where}: size ${plan.size} must be positive`);
  if (plan.jitter && [...plan.jitter.order].sort().join() !== '0,1,2,3') {
    throw new Error(`${where}: jitter order ${plan.jitter.order} is not a permutation of 0..3`);
  }
  if (plan.blurSigma !== null) {
    const r = blurRadius(plan.blurSigma);
    if (!(plan.blurSigma > 0) || r > MAX_BLUR_RADIUS || r >= plan.size) {
      throw new Error(`${where}: blur sigma ${plan.blurSigma} needs radius ${r}: at most ${MAX_BLUR_RADIUS} and under the size ${plan.size}`);
    }
  }
}

/** The ViewSample structs of one view index, as the shader reads them. */
function packSamples(plans: ViewPlan[]): Uint32Array {
  const words = new Uint32Array(plans.length * SAMPLE_WORDS);
  const floats = new Float32Array(words.buffer);
  plans.forEach((plan, b) => {
    const o = b * SAMPLE_WORDS;
    const { x, y, w, h } = plan.crop;
    words.set([x, y, w, h, plan.flip ? 1 : 0], o);
    // PyTorch's source step per output pixel: in / out, divided in f32 (the rounded quotient).
    floats[o + 5] = w / plan.size;
    floats[o + 6] = h / plan.size;
    const j = plan.jitter;
    words[o + 7] = j ? j.order.reduce((packed, op, step) => packed | (op << (4 * step)), 0) : NO_JITTER;
    floats.set(j ? [j.brightness, j.contrast, j.saturation, j.hue] : [1, 1, 1, 0], o + 8);
    words.set([plan.grayscale ? 1 : 0, plan.solarize ? 1 : 0], o + 12);
    const weights = plan.blurSigma === null ? [1] : gaussianWeights(plan.blurSigma);
    words[o + 14] = weights.length - 1;
    floats.set(weights, o + 15);
  });
  return words;
}

interface ViewBatch {
  batch: number;
  srcH: number;
  srcW: number;
  size: number;
  plans: ViewPlan[];
}

function dispatch(entry: string, v: ViewBatch, buffers: Tensor[], workgroups: [number, number?], constants?: Record<string, number>): void {
  gpu().dispatch({
    kernel: { shader: IMAGE, entry, constants },
    buffers: buffers.map((t) => t.range),
    params: params(v.batch, v.srcH, v.srcW, v.size),
    workgroups,
  });
}

/**
 * Invocations per sample of view_jitter: 256 on a GPU; on a CPU adapter 4, one SIMD group, where the contrast
 * mean's barriers cost more than the pixels (SwiftShader, 16 samples at 64 px: 2.1x faster than 256, 32 px: 4.4x).
 */
const jitterGroup = (): number => (cpuStyleKernels() ? 4 : 256);

function renderView(images: Tensor, v: ViewBatch): Tensor {
  // A tensor only as pooled storage: its words are the u32 / f32 fields of ViewSample.
  const samples = new Tensor([v.plans.length * SAMPLE_WORDS]);
  gpu().write(samples.range, packSamples(v.plans));
  const shape = [v.batch, 3, v.size, v.size];
  const pixels = grid1d(Math.ceil((v.batch * v.size * v.size) / WG));
  const work = new Tensor(shape);
  dispatch('view_crop_resize', v, [samples, images, work], pixels);
  // All four jitter steps in one dispatch, a workgroup per sample.
  if (v.plans.some((p) => p.jitter)) dispatch('view_jitter', v, [samples, work], [v.batch], { JITTER_WG: jitterGroup() });
  let blurredRows = work;
  if (v.plans.some((p) => p.blurSigma !== null)) {
    blurredRows = new Tensor(shape);
    dispatch('view_blur_rows', v, [samples, work, blurredRows], pixels);
  }
  const out = new Tensor(shape);
  dispatch('view_blur_cols_finish', v, [samples, blurredRows, out], pixels);
  return out;
}

/**
 * images [B, 3, H, W] in [0, 1]; plans[b] = sample b's views (planViews). Returns one [B, 3, s, s] tensor per
 * view index, CLIP-normalized; every sample's view i must have the same size.
 */
export function renderViews(images: Tensor, plans: ViewPlan[][]): Tensor[] {
  const [batch, channels, srcH, srcW] = images.shape;
  if (images.shape.length !== 4 || channels !== 3 || images.dtype !== 'f32' || images.size === 0) {
    throw new Error(`renderViews: needs f32 images [B, 3, H, W], got ${shapeString(images.shape)}`);
  }
  if (plans.length !== batch) throw new Error(`renderViews: ${plans.length} plans for a batch of ${batch}`);
  const viewCount = plans[0]!.length;
  if (batch! > gpu().limits.maxComputeWorkgroupsPerDimension) {
    throw new Error(`renderViews: a batch of ${batch} is over the workgroup limit of the color jitter (one workgroup per sample)`);
  }
  return scope(() =>
    Array.from({ length: viewCount }, (_, view) => {
      const viewPlans = plans.map((p, b) => {
        if (p.length !== viewCount) throw new Error(`renderViews: sample ${b} has ${p.length} views, sample 0 ${viewCount}`);
        const plan = p[view]!;
        checkPlan(plan, srcW!, srcH!, `renderViews: sample ${b} view ${view}`);
        if (plan.size !== plans[0]![view]!.size) {
          throw new Error(`renderViews: view ${view} is ${plan.size} px in sample ${b}, ${plans[0]![view]!.size} px in sample 0`);
        }
        return plan;
      });
      return renderView(images, { batch: batch!, srcH: srcH!, srcW: srcW!, size: viewPlans[0]!.size, plans: viewPlans });
    }),
  );
}
