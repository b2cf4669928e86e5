/**
 * An image's size from its header, before anything is decoded: a decompression bomb (a few kilobytes of PNG that
 * inflate to gigabytes of pixels) is refused with a sentence instead of exhausting memory. PNG, JPEG and WebP: the
 * formats the data sets take.
 */
import { FileError } from '../fileError.ts';

/** Pillow's MAX_IMAGE_PIXELS: above it Pillow warns of a decompression bomb; we refuse. */
export const MAX_IMAGE_PIXELS = 89_478_485;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
/** Start-of-frame markers: 0xC0-0xCF except DHT (C4), JPG (C8) and DAC (CC). */
export const isStartOfFrame = (marker: number): boolean => marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;

export interface JpegSegment {
  marker: number;
  /** Offset of the segment's body, after its length field. */
  body: number;
  /** The length field: the body's length plus 2. */
  length: number;
}

/** The segments of a JPEG from its start up to the first scan (where the markers an image needs all are). */
export function* jpegSegments(bytes: Uint8Array): Generator<JpegSegment> {
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) throw new Error(`no marker at offset ${at}`);
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xda) return; // start of scan
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    yield { marker, body: at + 4, length };
    at += 2 + length;
  }
}

/** What an image's header says about its size and coding. */
export interface ImageHeader {
  width: number;
  height: number;
  format: 'png' | 'jpeg' | 'webp';
  /** Whether a JPEG is Huffman-coded (every one jpeg-js reads); arithmetic coding has no per-block minimum. */
  huffman: boolean;
  /** PNG: bits per pixel (channels x bit depth). */
  bitsPerPixel: number;
}

/** Channels of each PNG colour type: gray, -, RGB, palette, gray+alpha, -, RGBA. */
const PNG_CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

/** RIFF....WEBP: a WebP file's first twelve bytes. */
export const isWebp = (head: Uint8Array): boolean => fourcc(head, 0) === 'RIFF' && fourcc(head, 8) === 'WEBP';

const fourcc = (bytes: Uint8Array, at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));

/** VP8X's flag for an animation (then the canvas holds frames, not one image). */
export const WEBP_ANIMATION_FLAG = 0x02;

/**
 * A WebP's size from its first chunk (the WebP container spec): a lossy 'VP8 ' key frame's 14-bit sizes, a
 * lossless 'VP8L' header's 14-bit sizes minus one, or the extended 'VP8X' canvas's 24-bit sizes minus one.
 */
function webpHeader(head: Uint8Array, view: DataView): ImageHeader | null {
  const chunk = fourcc(head, 12);
  const size = (width: number, height: number): ImageHeader => ({ width, height, format: 'webp', huffman: false, bitsPerPixel: 0 });
  const u24 = (at: number) => view.getUint16(at, true) | (head[at + 2]! << 16);
  if (chunk === 'VP8 ' && head.length >= 30) return size(view.getUint16(26, true) & 0x3fff, view.getUint16(28, true) & 0x3fff);
  if (chunk === 'VP8L' && head.length >= 25) {
    const bits = view.getUint32(21, true);
    return size((bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1);
  }
  if (chunk === 'VP8X' && head.length >= 30) return size(u24(24) + 1, u24(27) + 1);
  return null;
}

/** The header's facts from a PNG's IHDR, a JPEG's start of frame or a WebP's first chunk; null when `head` does not reach them. */
export function imageHeader(head: Uint8Array): ImageHeader | null {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (isWebp(head)) return webpHeader(head, view);
  if (PNG_SIGNATURE.every((b, i) => head[i] === b)) {
    if (head.length < 26) return null;
    const bitsPerPixel = (PNG_CHANNELS[head[25]!] ?? 4) * head[24]!;
    return { width: view.getUint32(16), height: view.getUint32(20), format: 'png', huffman: false, bitsPerPixel };
  }
  if (head[0] !== 0xff || head[1] !== 0xd8) return null;
  try {
    for (const { marker, body } of jpegSegments(head)) {
      if (isStartOfFrame(marker) && body + 5 <= head.length) {
        return { width: view.getUint16(body + 3), height: view.getUint16(body + 1), format: 'jpeg', huffman: marker < 0xc8, bitsPerPixel: 0 };
      }
    }
  } catch {
    // A broken marker sequence: the decoder will say so.
  }
  return null;
}

/** Width and height from an image's header (imageHeader); null when `head` does not reach them. */
export function imageSize(head: Uint8Array): { width: number; height: number } | null {
  const header = imageHeader(head);
  return header && { width: header.width, height: header.height };
}

/**
 * Deflate expands at most 1032-fold (zlib's documented limit); a Huffman-coded JPEG spends at least one bit on
 * every 8x8 block, so a byte holds at most 512 pixels. A header that announces more than the file can hold is
 * damaged, or a bomb: decoding it would cost the time and memory of the announced size for nothing. WebP has no
 * such bound (a lossless Huffman code with one symbol costs no bits at all), so only the pixel limit applies to it.
 */
const DEFLATE_MAX_RATIO = 1032;
const JPEG_MAX_PIXELS_PER_BYTE = 512;

/**
 * Throws, naming the image, when its header announces more pixels than MAX_IMAGE_PIXELS, or more than a file of
 * `fileSize` bytes can hold: what is decoded then stays within a fixed multiple of the file's size.
 */
export function refuseHugeImage(head: Uint8Array, fileSize: number, name: string): void {
  const header = imageHeader(head);
  if (!header) return;
  const { width, height } = header;
  const pixels = width * height;
  if (pixels > MAX_IMAGE_PIXELS) {
    throw new FileError(
      name,
      `${name}: ${width} x ${height} pixels (${(pixels / 1e6).toFixed(0)} MP) is more than the ${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} MP an image may have here; resize it first`,
    );
  }
  const rawBytes = height * (1 + Math.ceil((width * header.bitsPerPixel) / 8));
  const tooShort =
    header.format === 'png'
      ? rawBytes > DEFLATE_MAX_RATIO * fileSize
      : header.format === 'jpeg' && header.huffman && pixels > JPEG_MAX_PIXELS_PER_BYTE * fileSize;
  if (tooShort) {
    throw new FileError(
      name,
      `${name} is damaged: its header announces ${width} x ${height} pixels, more than its ${fileSize} bytes can hold (${header.format.toUpperCase()} ` +
        `compresses at most ${header.format === 'png' ? `${DEFLATE_MAX_RATIO}-fold` : `${JPEG_MAX_PIXELS_PER_BYTE} pixels into a byte`})`,
    );
  }
}
