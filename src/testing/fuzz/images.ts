/**
 * PNG- and JPEG-aware mutations. PNG: a chunk's length set to an edge value; IHDR's size, bit depth, colour type
 * and interlace method edited; chunks duplicated, dropped or moved; the compressed data mutated; CRCs usually
 * recomputed so that the decoder gets past them. JPEG: a segment's length or a byte of its body (frame size,
 * component count, sampling factors, table ids and lengths, scan selectors, restart interval) edited; segments
 * duplicated or dropped; the scan cut short.
 */
import { crc32 } from '../../checkpoint/crc32.ts';
import type { Random } from '../../data/random.ts';
import { type Mutation, below, concatBytes, edgeValues, mutateBytes, pick, putInt } from './mutate.ts';

interface Chunk {
  at: number;
  length: number;
  type: string;
}

function pngChunks(bytes: Uint8Array): Chunk[] {
  const chunks: Chunk[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = view.getUint32(at);
    if (at + 12 + length > bytes.length) break;
    chunks.push({ at, length, type: String.fromCharCode(...bytes.subarray(at + 4, at + 8)) });
    at += 12 + length;
  }
  return chunks;
}

function fixCrc(bytes: Uint8Array, chunk: Chunk): void {
  if (chunk.at + 12 + chunk.length > bytes.length) return;
  new DataView(bytes.buffer, bytes.byteOffset).setUint32(chunk.at + 8 + chunk.length, crc32(bytes.subarray(chunk.at + 4, chunk.at + 8 + chunk.length)));
}

const whole = (bytes: Uint8Array, c: Chunk) => bytes.subarray(c.at, c.at + 12 + c.length);

const PNG_MUTATIONS: readonly ((random: Random, bytes: Uint8Array, chunks: Chunk[]) => Uint8Array)[] = [
  (random, bytes, chunks) => {
    // IHDR: width, height (4 bytes each), then depth, colour type, compression, filter, interlace.
    const ihdr = chunks.find((c) => c.type === 'IHDR');
    if (!ihdr) return mutateBytes(random, bytes);
    const out = bytes.slice();
    const field = below(random, 7);
    if (field < 2) putInt(out, ihdr.at + 8 + 4 * field, 4, pick(random, [...edgeValues(bytes.length), 1000n, 30000n]), false);
    else out[ihdr.at + 16 + (field - 2)] = pick(random, [0, 1, 2, 3, 4, 5, 6, 7, 8, 16, 255]);
    if (random() < 0.85) fixCrc(out, ihdr);
    return out;
  },
  (random, bytes, chunks) => {
    const chunk = pick(random, chunks);
    const out = bytes.slice();
    putInt(out, chunk.at, 4, pick(random, edgeValues(bytes.length)), false);
    return out;
  },
  (random, bytes, chunks) => {
    // The data of one chunk (IDAT's compressed stream, PLTE's colours, tRNS) mutated, its CRC made right.
    const chunk = pick(random, chunks);
    const body = mutateBytes(random, bytes.slice(chunk.at + 8, chunk.at + 8 + chunk.length));
    const head = new Uint8Array(8);
    new DataView(head.buffer).setUint32(0, body.length);
    head.set(bytes.subarray(chunk.at + 4, chunk.at + 8), 4);
    const rebuilt = concatBytes(head, body, new Uint8Array(4));
    fixCrc(rebuilt, { at: 0, length: body.length, type: chunk.type });
    return concatBytes(bytes.subarray(0, chunk.at), rebuilt, bytes.subarray(chunk.at + 12 + chunk.length));
  },
  (random, bytes, chunks) => {
    // A chunk duplicated, dropped, or moved to the front.
    const chunk = pick(random, chunks);
    const rest = concatBytes(bytes.subarray(0, chunk.at), bytes.subarray(chunk.at + 12 + chunk.length));
    const kind = below(random, 3);
    if (kind === 0) return concatBytes(bytes.subarray(0, chunk.at), whole(bytes, chunk), bytes.subarray(chunk.at));
    if (kind === 1) return rest;
    return concatBytes(rest.subarray(0, 8), whole(bytes, chunk), rest.subarray(8));
  },
];

export const mutatePng: Mutation = (random, bytes) => {
  const chunks = pngChunks(bytes);
  return chunks.length && random() < 0.75 ? pick(random, PNG_MUTATIONS)(random, bytes, chunks) : mutateBytes(random, bytes);
};

interface Segment {
  at: number;
  marker: number;
  /** The length field's value (the body plus 2). */
  length: number;
}

/** The segments before the first scan, and the scan's start. */
function jpegSegments(bytes: Uint8Array): { segments: Segment[]; scan: number } {
  const segments: Segment[] = [];
  let at = 2;
  while (at + 4 <= bytes.length && bytes[at] === 0xff) {
    const marker = bytes[at + 1]!;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    segments.push({ at, marker, length });
    at += 2 + length;
    if (marker === 0xda) break;
  }
  return { segments, scan: at };
}

const JPEG_BYTES = [0, 1, 2, 3, 4, 8, 0x0f, 0x10, 0x11, 0x12, 0x21, 0x22, 0x41, 0x44, 0x7f, 0x80, 0xf0, 0xff];

const JPEG_MUTATIONS: readonly ((random: Random, bytes: Uint8Array, s: { segments: Segment[]; scan: number }) => Uint8Array)[] = [
  (random, bytes, { segments }) => {
    // A byte of a segment's body: sizes, counts, sampling factors, table ids and code counts all live there.
    const segment = pick(random, segments);
    const out = bytes.slice();
    if (segment.length > 2) out[segment.at + 4 + below(random, segment.length - 2)] = pick(random, JPEG_BYTES);
    return out;
  },
  (random, bytes, { segments }) => {
    // The frame's height and width.
    const frame = segments.find((s) => s.marker >= 0xc0 && s.marker <= 0xc2) ?? pick(random, segments);
    const out = bytes.slice();
    putInt(out, frame.at + 5 + 2 * below(random, 2), 2, pick(random, [0n, 1n, 7n, 8n, 9n, 255n, 4096n, 65535n]), false);
    return out;
  },
  (random, bytes, { segments }) => {
    const segment = pick(random, segments);
    const out = bytes.slice();
    putInt(out, segment.at + 2, 2, pick(random, [0n, 1n, 2n, 3n, BigInt(segment.length - 1), BigInt(segment.length + 1), 0xffffn]), false);
    return out;
  },
  (random, bytes, { segments }) => {
    const segment = pick(random, segments);
    const piece = bytes.subarray(segment.at, Math.min(bytes.length, segment.at + 2 + segment.length));
    return random() < 0.5
      ? concatBytes(bytes.subarray(0, segment.at), piece, bytes.subarray(segment.at))
      : concatBytes(bytes.subarray(0, segment.at), bytes.subarray(segment.at + piece.length));
  },
  // The scan cut short, or its end-of-image marker dropped.
  (random, bytes, { scan }) => (random() < 0.5 ? bytes.slice(0, scan + below(random, Math.max(1, bytes.length - scan))) : bytes.slice(0, bytes.length - 2)),
];

export const mutateJpeg: Mutation = (random, bytes) => {
  const parsed = jpegSegments(bytes);
  return parsed.segments.length && random() < 0.75 ? pick(random, JPEG_MUTATIONS)(random, bytes, parsed) : mutateBytes(random, bytes);
};
