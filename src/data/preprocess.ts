/**
 * OpenCLIP's eval image transform, on the host, bit for bit: torchvision Resize(size, BICUBIC) of a PIL image
 * (shortest side to `size`), CenterCrop(size), ToTensor, Normalize(OpenAI mean, std).
 * The resize is Pillow's (libImaging/Resample.c): a separable convolution with the a = -0.5 cubic, its support
 * widened by the downscale factor (antialiasing), coefficients in 22-bit fixed point, the horizontal pass first
 * and its output rounded to uint8 before the vertical pass.
 */
import type { RgbImage } from './image.ts';

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073] as const;
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711] as const;

export interface ResizeCropGeometry {
  resizedWidth: number;
  resizedHeight: number;
  top: number;
  left: number;
}

/**
 * torchvision's sizes: the short side becomes `size`, the long one int(size * long / short) (truncated, in
 * double precision); the crop offset is round((resized - size) / 2) with Python's round, halves to even.
 */
export function clipResizeGeometry(width: number, height: number, size: number): ResizeCropGeometry {
  const [short, long] = width <= height ? [width, height] : [height, width];
  const newLong = Math.trunc((size * long) / short);
  const [resizedWidth, resizedHeight] = width <= height ? [size, newLong] : [newLong, size];
  return {
    resizedWidth,
    resizedHeight,
    top: roundHalfEven((resizedHeight - size) / 2),
    left: roundHalfEven((resizedWidth - size) / 2),
  };
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

/** Resize + center crop as OpenCLIP's eval transform does, before ToTensor: `size` x `size` uint8 RGB. */
export function preprocessToSize(img: RgbImage, size: number): RgbImage {
  const g = clipResizeGeometry(img.width, img.height, size);
  return cropRgb(resizeBicubicPil(img, g.resizedWidth, g.resizedHeight), g.left, g.top, size, size);
}

/** The model's input: [3, size, size] CHW float32, normalized. */
export function preprocessForClip(img: RgbImage, size = 224): Float32Array {
  return normalizeForClip(preprocessToSize(img, size));
}

/**
 * ToTensor then Normalize in float32, step by step as PyTorch does it: (float32(v) / 255 - mean) / std, each
 * operation rounded to float32 (the float64 result of one f32 operation, rounded once, is the f32 result).
 */
export function normalizeForClip(img: RgbImage): Float32Array {
  const plane = img.width * img.height;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const table = new Float32Array(256);
    const mean = Math.fround(CLIP_MEAN[c]);
    const std = Math.fround(CLIP_STD[c]);
    for (let v = 0; v < 256; v++) table[v] = Math.fround(Math.fround(v / 255) - mean) / std;
    for (let p = 0; p < plane; p++) out[c * plane + p] = table[img.data[p * 3 + c]!]!;
  }
  return out;
}

export function cropRgb(img: RgbImage, left: number, top: number, width: number, height: number): RgbImage {
  if (left < 0 || top < 0 || left + width > img.width || top + height > img.height) {
    throw new Error(`crop ${width}x${height} at (${left}, ${top}) leaves the ${img.width}x${img.height} image`);
  }
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const from = ((top + y) * img.width + left) * 3;
    data.set(img.data.subarray(from, from + width * 3), y * width * 3);
  }
  return { width, height, data };
}

/** Pillow's `Image.resize((width, height), Image.BICUBIC)` of an RGB image. */
export function resizeBicubicPil(img: RgbImage, width: number, height: number): RgbImage {
  let out = img;
  if (width !== img.width) out = resamplePass(out, width, true);
  if (height !== img.height) out = resamplePass(out, height, false);
  return out === img ? { width, height, data: img.data.slice() } : out;
}

const PRECISION_BITS = 32 - 8 - 2;

/** PIL's cubic convolution kernel, a = -0.5, evaluated in the same order as Resample.c. */
function bicubic(x: number): number {
  const a = -0.5;
  if (x < 0) x = -x;
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a;
  return 0;
}

interface Coefficients {
  /** Per output index: first input index and tap count. */
  first: Int32Array;
  count: Int32Array;
  /** Fixed-point weights, `taps` per output index. */
  weights: Int32Array;
  taps: number;
}

/** Resample.c's precompute_coeffs + normalize_coeffs_8bpc, in the same double arithmetic. */
function coefficients(inSize: number, outSize: number): Coefficients {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = 2 * filterScale;
  const taps = Math.ceil(support) * 2 + 1;
  const first = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const weights = new Int32Array(outSize * taps);
  const k = new Float64Array(taps);
  for (let o = 0; o < outSize; o++) {
    const center = (o + 0.5) * scale;
    const xmin = Math.max(Math.trunc(center - support + 0.5), 0);
    const n = Math.min(Math.trunc(center + support + 0.5), inSize) - xmin;
    let sum = 0;
    for (let x = 0; x < n; x++) {
      k[x] = bicubic((x + xmin - center + 0.5) * (1 / filterScale));
      sum += k[x]!;
    }
    for (let x = 0; x < n; x++) {
      const w = sum !== 0 ? k[x]! / sum : k[x]!;
      weights[o * taps + x] = Math.trunc(w < 0 ? -0.5 + w * (1 << PRECISION_BITS) : 0.5 + w * (1 << PRECISION_BITS));
    }
    first[o] = xmin;
    count[o] = n;
  }
  return { first, count, weights, taps };
}

/** One 8-bit pass along x (horizontal) or y, rounding each output to uint8 as Resample.c's clip8 does. */
function resamplePass(img: RgbImage, outSize: number, horizontal: boolean): RgbImage {
  const inSize = horizontal ? img.width : img.height;
  const { first, count, weights, taps } = coefficients(inSize, outSize);
  const width = horizontal ? outSize : img.width;
  const height = horizontal ? img.height : outSize;
  const lines = horizontal ? height : width; // rows for a horizontal pass, columns for a vertical one
  const src = img.data;
  const out = new Uint8Array(width * height * 3);
  // Offsets between neighbouring samples along the pass, and between neighbouring lines, in bytes.
  const step = horizontal ? 3 : img.width * 3;
  const lineStep = horizontal ? img.width * 3 : 3;
  const outStep = horizontal ? 3 : width * 3;
  const outLineStep = horizontal ? width * 3 : 3;
  const half = 1 << (PRECISION_BITS - 1);
  for (let line = 0; line < lines; line++) {
    for (let o = 0; o < outSize; o++) {
      let r = half;
      let g = half;
      let b = half;
      let at = line * lineStep + first[o]! * step;
      const w0 = o * taps;
      for (let t = 0; t < count[o]!; t++, at += step) {
        const w = weights[w0 + t]!;
        r += src[at]! * w;
        g += src[at + 1]! * w;
        b += src[at + 2]! * w;
      }
      const q = line * outLineStep + o * outStep;
      out[q] = clip8(r);
      out[q + 1] = clip8(g);
      out[q + 2] = clip8(b);
    }
  }
  return { width, height, data: out };
}

function clip8(sum: number): number {
  const v = sum >> PRECISION_BITS;
  return v < 0 ? 0 : Math.min(v, 255);
}
