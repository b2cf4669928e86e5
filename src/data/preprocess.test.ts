// CLIP eval preprocessing against OpenCLIP's own transform (open_clip_torch 3.3.0 on torchvision 0.14 and Pillow
// 9.4), through fixtures/preprocess.json and fixtures/images/, made by scripts/fixtures/preprocess.py. CPU only.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RgbImage } from './image.ts';
import { decodeImageFile } from './image-node.ts';
import { expectClose } from '../testing/fixtures.ts';
import { CLIP_MEAN, CLIP_STD, clipResizeGeometry, cropRgb, normalizeForClip, preprocessForClip, preprocessToSize, resizeBicubicPil } from './preprocess.ts';

interface PreprocessCase {
  image: string;
  size: number;
  resized: [number, number];
  crop: [number, number];
  pixels_sha256: string;
  pixels?: string;
  pixel_sample?: { index: number[]; rgb: string };
  normalized_sample: { index: number[]; values: number[] };
}

interface Fixture {
  mean: number[];
  std: number[];
  geometry: [number, number, number, number, number, number, number][];
  resample: { src: [number, number]; seed: number; dst: [number, number]; rgb: string }[];
  normalize: number[][];
  cases: PreprocessCase[];
}

const ROOT = join(import.meta.dirname, '..', '..');
const fixture = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'preprocess.json'), 'utf8')) as Fixture;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const decode = (file: string) => decodeImageFile(join(ROOT, 'fixtures', 'images', file));

/** The fixture script's hash noise (hash_noise in preprocess.py), byte for byte. */
function hashNoise(width: number, height: number, seed: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) {
    let v = (Math.imul(i, 0x9e3779b1) + Math.imul(seed, 0x85ebca77)) >>> 0;
    v = (v ^ (v >>> 15)) >>> 0;
    v = Math.imul(v, 0x2c1b3c6d) >>> 0;
    v = (v ^ (v >>> 12)) >>> 0;
    data[i] = v & 255;
  }
  return { width, height, data };
}

function levelDifference(actual: Uint8Array, expected: Uint8Array): { worst: number; off: number } {
  let worst = 0;
  let off = 0;
  for (let i = 0; i < expected.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    worst = Math.max(worst, d);
    if (d) off++;
  }
  return { worst, off };
}

// The normalized floats are computed the way PyTorch does, in float32 step by step: they come out equal to
// PyTorch's (measured max difference 0); 1e-6 absolute is the agreed bound, well under one level (~0.015).
const FLOAT_TOLERANCE = { rtol: 0, atol: 1e-6 };

it('uses the mean and std OpenCLIP uses', () => {
  expect([...CLIP_MEAN]).toEqual(fixture.mean);
  expect([...CLIP_STD]).toEqual(fixture.std);
});

describe('resize and crop geometry', () => {
  it('matches torchvision for every size in the table (half-pixel crop offsets round to even)', () => {
    for (const [w, h, size, resizedWidth, resizedHeight, top, left] of fixture.geometry) {
      expect(clipResizeGeometry(w, h, size), `${w}x${h} -> ${size}`).toEqual({ resizedWidth, resizedHeight, top, left });
    }
  });

  it('refuses a crop that leaves the image', () => {
    expect(() => cropRgb(hashNoise(4, 4, 1), 1, 0, 4, 4)).toThrow(/leaves the 4x4 image/);
  });
});

describe("Pillow's bicubic resize", () => {
  it.each(fixture.resample.map((r) => [`${r.src.join('x')} -> ${r.dst.join('x')}`, r] as const))('%s: bit-exact', (_, r) => {
    const out = resizeBicubicPil(hashNoise(r.src[0], r.src[1], r.seed), r.dst[0], r.dst[1]);
    expect([out.width, out.height]).toEqual(r.dst);
    expect(levelDifference(out.data, Buffer.from(r.rgb, 'base64'))).toEqual({ worst: 0, off: 0 });
  });

  it('copies an image already at the size asked', () => {
    const img = hashNoise(5, 3, 9);
    const out = resizeBicubicPil(img, 5, 3);
    expect(out.data).toEqual(img.data);
    expect(out.data).not.toBe(img.data);
  });
});

describe('ToTensor + Normalize', () => {
  it('gives PyTorch float32 values for every uint8 value of every channel', () => {
    const all = { width: 256, height: 1, data: Uint8Array.from({ length: 768 }, (_, i) => Math.floor(i / 3)) };
    expectClose(normalizeForClip(all), fixture.normalize.flat(), FLOAT_TOLERANCE, 'normalize');
  });
});

const pngCases = fixture.cases.filter((c) => c.image.endsWith('.png'));
const jpegCases = fixture.cases.filter((c) => c.image.endsWith('.jpg'));
const label = (c: PreprocessCase) => `${c.image} at ${c.size}`;

describe('OpenCLIP eval transform on decoded PNGs', () => {
  it.each(pngCases.map((c) => [label(c), c] as const))('%s: same uint8 crop and floats', async (_, c) => {
    const img = await decode(c.image);
    expect(clipResizeGeometry(img.width, img.height, c.size)).toMatchObject({
      resizedWidth: c.resized[0],
      resizedHeight: c.resized[1],
      top: c.crop[0],
      left: c.crop[1],
    });
    const pixels = preprocessToSize(img, c.size);
    expect([pixels.width, pixels.height]).toEqual([c.size, c.size]);
    if (c.pixels) expect(levelDifference(pixels.data, Buffer.from(c.pixels, 'base64'))).toEqual({ worst: 0, off: 0 });
    if (c.pixel_sample) {
      const want = Buffer.from(c.pixel_sample.rgb, 'base64');
      const got = Uint8Array.from(c.pixel_sample.index.flatMap((p) => [...pixels.data.subarray(p * 3, p * 3 + 3)]));
      expect(levelDifference(got, want)).toEqual({ worst: 0, off: 0 });
    }
    expect(sha256(pixels.data)).toBe(c.pixels_sha256);

    const floats = preprocessForClip(img, c.size);
    expect(floats.length).toBe(3 * c.size * c.size);
    const sampled = c.normalized_sample.index.map((i) => floats[i]!);
    expectClose(sampled, c.normalized_sample.values, FLOAT_TOLERANCE, label(c));
  });
});

describe('OpenCLIP eval transform on decoded JPEGs', () => {
  it.each(jpegCases.map((c) => [label(c), c] as const))('%s: within 3 levels', async (_, c) => {
    const pixels = preprocessToSize(await decode(c.image), c.size);
    const { worst, off } = levelDifference(pixels.data, Buffer.from(c.pixels!, 'base64'));
    // The decoder's IDCT rounding (see image.test.ts), carried through the resize. Measured: max 3, at most 18%
    // of the values off (upscaling these small images spreads each decoded difference over several pixels).
    expect(worst).toBeLessThanOrEqual(3);
    expect(off / pixels.data.length).toBeLessThanOrEqual(0.19);
  });
});

it('defaults to 224 x 224 CHW', () => {
  expect(preprocessForClip(hashNoise(40, 30, 3)).length).toBe(3 * 224 * 224);
});
