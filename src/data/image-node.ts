/**
 * PNG, JPEG and WebP decoding for Node (CLI, tests, benchmarks), giving what PIL's `Image.open(path).convert('RGB')` gives.
 * PNG is exact (8 and 16-bit, gray, gray+alpha, palette, RGB, RGBA, tRNS, interlaced), except 16-bit grayscale:
 * PIL clips those samples to 255, we keep their high byte as PIL does for every other 16-bit type.
 * JPEG: jpeg-js's coefficients and IDCT, then libjpeg-turbo's own chroma upsampling and colour conversion; the
 * IDCT's rounding leaves up to 3 levels of difference on some pixels (src/data/image.test.ts measures it).
 * WebP is exact: libwebp itself (src/data/webp-node.ts), as in Pillow; a still image only, not an animation.
 */
import { FileError } from '../fileError.ts';
import { errorMessage } from '../format.ts';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { rgbFromRgba, type RgbImage } from './image.ts';
import { isStartOfFrame, isWebp, jpegSegments, refuseHugeImage, WEBP_ANIMATION_FLAG } from './imageSize.ts';
import { decodeWebpRgba } from './webp-node.ts';

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG_SIGNATURE = [0xff, 0xd8, 0xff];
const PNG_PALETTE = 3;

/** What pngjs's sync reader returns beyond its published types. */
interface DecodedPng {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  transColor?: number[];
  data: Uint8Array | Uint16Array;
}

export async function decodeImageFile(path: string): Promise<RgbImage> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new FileError(path, `${path}: cannot read the file (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
  }
  return decodeImageBytes(bytes, path);
}

/** A Blob's image (a dropped or zipped file in the CLI and in tests); `name` only labels errors. */
export async function decodeImageBlobInNode(blob: Blob, name: string): Promise<RgbImage> {
  return decodeImageBytes(new Uint8Array(await blob.arrayBuffer()), name);
}

/** `name` only labels errors. */
export async function decodeImageBytes(bytes: Uint8Array, name: string): Promise<RgbImage> {
  const startsWith = (signature: number[]) => signature.every((b, i) => bytes[i] === b);
  const format = startsWith(PNG_SIGNATURE) ? 'png' : startsWith(JPEG_SIGNATURE) ? 'jpeg' : isWebp(bytes) ? 'webp' : null;
  if (!format) throw unreadable(name, 'no PNG, JPEG or WebP signature');
  refuseHugeImage(bytes, bytes.byteLength, basename(name));
  if (format === 'webp') return decodeWebp(bytes, name);
  try {
    return format === 'png' ? decodePng(bytes) : decodeJpeg(bytes);
  } catch (e) {
    throw unreadable(name, `${format.toUpperCase()} decoder: ${errorMessage(e)}`);
  }
}

function unreadable(name: string, why: string): FileError {
  const file = basename(name);
  return new FileError(file, `${file}: not a readable PNG, JPEG or WebP image (${why})`);
}

/** PIL's `convert('RGB')` of a WebP drops its alpha and keeps the colour under it, as rgbFromRgba does. */
async function decodeWebp(bytes: Uint8Array, name: string): Promise<RgbImage> {
  // An animation's frames are chunks libwebp's still-image decoder refuses; say so rather than "damaged".
  const extended = String.fromCharCode(...bytes.subarray(12, 16)) === 'VP8X';
  if (extended && (bytes[20]! & WEBP_ANIMATION_FLAG) !== 0) {
    throw unreadable(name, 'an animated WebP, which is not read here; save one frame as an image');
  }
  const rgba = await decodeWebpRgba(bytes);
  if (!rgba) throw unreadable(name, 'libwebp cannot decode it: the file is damaged or truncated');
  return rgbFromRgba(rgba.data, rgba.width, rgba.height);
}

/** An RGB image as PNG bytes (8 bits a channel). */
export function encodePng(image: RgbImage): Buffer {
  const png = new pngjs.PNG({ width: image.width, height: image.height });
  for (let p = 0; p < image.width * image.height; p++) {
    png.data.set(image.data.subarray(p * 3, p * 3 + 3), p * 4);
    png.data[p * 4 + 3] = 255;
  }
  return pngjs.PNG.sync.write(png);
}

function decodePng(bytes: Uint8Array): RgbImage {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // Unscaled samples: PIL keeps the high byte of 16-bit samples, where pngjs would round v * 255 / 65535.
  const png = pngjs.PNG.sync.read(buffer, { skipRescale: true }) as unknown as DecodedPng;
  const { width, height, depth, data } = png;
  if (png.colorType !== PNG_PALETTE && png.transColor) restoreTransparentColour(png);
  const rgba = depth === 16 ? data.map((v) => v >> 8) : depth < 8 && png.colorType !== PNG_PALETTE ? scaleLowDepth(data, depth) : data;
  return rgbFromRgba(rgba, width, height);
}

/**
 * pngjs blanks the pixels that match a gray or RGB image's tRNS colour to transparent black; PIL keeps their
 * colour and `convert('RGB')` drops the transparency. Such images have no alpha samples, so alpha 0 marks exactly
 * the matching pixels, whose colour is the tRNS colour.
 */
function restoreTransparentColour(png: DecodedPng): void {
  const { data } = png;
  const [r, g = r, b = r] = png.transColor!;
  for (let p = 0; p < data.length; p += 4) {
    if (data[p + 3] !== 0) continue;
    data[p] = r!;
    data[p + 1] = g!;
    data[p + 2] = b!;
  }
}

/** 1, 2 and 4-bit gray to 8 bits the way PIL's unpackers do: v * 255 / (2^depth - 1), exact for these depths. */
function scaleLowDepth(data: Uint8Array | Uint16Array, depth: number): Uint8Array {
  const factor = 255 / (2 ** depth - 1);
  return Uint8Array.from(data, (v) => v * factor);
}

/** What libjpeg needs to turn the decoded components into RGB, read from the markers before the first scan. */
interface JpegLayout {
  components: { id: number; h: number; v: number }[];
  /** libjpeg's colour-space guess for 3 components: YCbCr unless an Adobe marker or 'R','G','B' ids say RGB. */
  ycc: boolean;
  /** Offset of the Adobe APP14 transform byte, when there is one. */
  adobeTransformAt: number | null;
}

function readJpegLayout(bytes: Uint8Array): JpegLayout {
  let jfif = false;
  let adobeTransformAt: number | null = null;
  let components: JpegLayout['components'] = [];
  for (const { marker, body, length } of jpegSegments(bytes)) {
    if (marker === 0xe0 && String.fromCharCode(...bytes.subarray(body, body + 5)) === 'JFIF\0') jfif = true;
    if (marker === 0xee && String.fromCharCode(...bytes.subarray(body, body + 5)) === 'Adobe' && length >= 14) {
      adobeTransformAt = body + 11;
    }
    if (isStartOfFrame(marker)) {
      components = Array.from({ length: bytes[body + 5]! }, (_, i) => {
        const c = body + 6 + 3 * i;
        return { id: bytes[c]!, h: bytes[c + 1]! >> 4, v: bytes[c + 1]! & 15 };
      });
    }
  }
  const ids = components.map((c) => c.id).join();
  const ycc = jfif || (adobeTransformAt !== null ? bytes[adobeTransformAt] !== 0 : ids !== '82,71,66');
  return { components, ycc, adobeTransformAt };
}

/**
 * jpeg-js decodes the coefficients, but upsamples chroma by replication and converts colour in floating point
 * with truncation. For 3-component images we ask it for the raw, replicated planes instead and redo what
 * libjpeg-turbo (PIL's decoder, default settings) does after the IDCT: triangle ("fancy") chroma upsampling and
 * its fixed-point YCbCr -> RGB. What remains is the IDCT's rounding (1 level on a few samples). Other
 * component counts (gray; CMYK, which PIL converts with rounding where jpeg-js truncates) keep jpeg-js's output.
 */
function decodeJpeg(bytes: Uint8Array): RgbImage {
  const layout = readJpegLayout(bytes);
  // Strict: PIL refuses truncated JPEGs rather than returning the part it could read.
  const options = { useTArray: true, formatAsRGBA: false, tolerantDecoding: false } as const;
  if (layout.components.length !== 3) return jpeg.decode(bytes, options);
  let input = bytes;
  if (layout.adobeTransformAt !== null && bytes[layout.adobeTransformAt] !== 0) {
    input = bytes.slice(); // jpeg-js converts whenever the Adobe marker asks, whatever its options say
    input[layout.adobeTransformAt] = 0;
  }
  const { width, height, data } = jpeg.decode(input, { ...options, colorTransform: false });
  const maxH = Math.max(...layout.components.map((c) => c.h));
  const maxV = Math.max(...layout.components.map((c) => c.v));
  for (const [channel, c] of layout.components.entries()) upsampleLikeLibjpeg(data, width, height, channel, maxH / c.h, maxV / c.v);
  if (layout.ycc) yccToRgbLikeLibjpeg(data);
  return { width, height, data };
}

/**
 * Replaces channel `channel` of `data` (RGB-interleaved, chroma replicated by jpeg-js) with libjpeg-turbo's
 * upsampling of the same samples: the triangle filter for 2:1 ratios (jdsample.c's h2v1, h1v2 and h2v2 "fancy"
 * upsamplers, with their rounding biases and edge rows replicated), replication for anything else.
 */
function upsampleLikeLibjpeg(data: Uint8Array, width: number, height: number, channel: number, hr: number, vr: number): void {
  const dw = Math.ceil(width / hr);
  const dh = Math.ceil(height / vr);
  const fancyH = hr === 2 && dw > 2 && (vr === 1 || vr === 2);
  const fancyV = vr === 2 && (hr === 1 || fancyH);
  if (!fancyH && !fancyV) return; // 1:1, or libjpeg's replication, which jpeg-js already did
  const sample = (x: number, y: number) => data[(Math.min(Math.max(y, 0), dh - 1) * vr * width + x * hr) * 3 + channel]!;
  const out = new Uint8Array(width * height);
  const sums = new Int32Array(dw);
  for (let y = 0; y < height; y++) {
    const row = Math.floor(y / vr);
    const below = y % 2 === 1;
    if (fancyV) for (let j = 0; j < dw; j++) sums[j] = sample(j, row) * 3 + sample(j, below ? row + 1 : row - 1);
    else for (let j = 0; j < dw; j++) sums[j] = sample(j, row);
    for (let x = 0; x < width; x++) {
      const j = Math.floor(x / hr);
      let value: number;
      if (!fancyH)
        value = (sums[j]! + (below ? 2 : 1)) >> 2; // h1v2
      else if (!fancyV) {
        // h2v1: 3/4 nearer + 1/4 further sample, edges copied
        if (x % 2 === 0) value = j === 0 ? sums[0]! : (sums[j]! * 3 + sums[j - 1]! + 1) >> 2;
        else value = j === dw - 1 ? sums[j]! : (sums[j]! * 3 + sums[j + 1]! + 2) >> 2;
      } else if (x % 2 === 0) value = j === 0 ? (sums[0]! * 4 + 8) >> 4 : (sums[j]! * 3 + sums[j - 1]! + 8) >> 4;
      else value = j === dw - 1 ? (sums[j]! * 4 + 7) >> 4 : (sums[j]! * 3 + sums[j + 1]! + 7) >> 4;
      out[y * width + x] = value;
    }
  }
  for (let p = 0; p < out.length; p++) data[p * 3 + channel] = out[p]!;
}

/** jdcolor.c's 16-bit fixed-point constants. */
const fix16 = (x: number) => Math.floor(x * 65536 + 0.5);
const CR_R = fix16(1.402);
const CB_G = fix16(0.34414);
const CR_G = fix16(0.71414);
const CB_B = fix16(1.772);
const HALF16 = 1 << 15;

/** jdcolor.c's ycc_rgb_convert: each chroma term rounded to an integer, the sums clamped to 0..255. */
function yccToRgbLikeLibjpeg(data: Uint8Array): void {
  const clamp = (v: number) => (v < 0 ? 0 : Math.min(v, 255));
  for (let p = 0; p < data.length; p += 3) {
    const y = data[p]!;
    const cb = data[p + 1]! - 128;
    const cr = data[p + 2]! - 128;
    data[p] = clamp(y + ((CR_R * cr + HALF16) >> 16));
    data[p + 1] = clamp(y + ((-CB_G * cb + HALF16 - CR_G * cr) >> 16));
    data[p + 2] = clamp(y + ((CB_B * cb + HALF16) >> 16));
  }
}
