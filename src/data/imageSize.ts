/**
 * An image's size from its header, before anything is decoded: a decompression bomb (a few kilobytes of PNG that
 * inflate to gigabytes of pixels) is refused with a sentence instead of exhausting memory. PNG and JPEG only: the
 * formats the data sets take.
 */

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

/** Width and height from a PNG's IHDR or a JPEG's start of frame; null when `head` does not reach them. */
export function imageSize(head: Uint8Array): { width: number; height: number } | null {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (PNG_SIGNATURE.every((b, i) => head[i] === b)) return head.length >= 24 ? { width: view.getUint32(16), height: view.getUint32(20) } : null;
  if (head[0] !== 0xff || head[1] !== 0xd8) return null;
  try {
    for (const { marker, body } of jpegSegments(head)) {
      if (isStartOfFrame(marker) && body + 5 <= head.length) return { width: view.getUint16(body + 3), height: view.getUint16(body + 1) };
    }
  } catch {
    // A broken marker sequence: the decoder will say so.
  }
  return null;
}

/** Throws, naming the image, when its header announces more pixels than MAX_IMAGE_PIXELS. */
export function refuseHugeImage(head: Uint8Array, name: string): void {
  const size = imageSize(head);
  if (size && size.width * size.height > MAX_IMAGE_PIXELS) {
    const megapixels = ((size.width * size.height) / 1e6).toFixed(0);
    throw new Error(
      `${name}: ${size.width} x ${size.height} pixels (${megapixels} MP) is more than the ${(MAX_IMAGE_PIXELS / 1e6).toFixed(1)} MP an image may have here; resize it first`,
    );
  }
}
