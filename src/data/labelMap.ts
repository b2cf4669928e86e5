/**
 * Segmentation label maps: PNGs whose pixel values are class indices (255: ignored), as PASCAL VOC, Pascal Context,
 * COCO-Stuff, ADE20K and Cityscapes ship them for mmsegmentation. A palette PNG's value is its palette index, not
 * the colour it shows, which is why browsers' and pngjs's decoders (RGBA out) cannot read them: this reads the
 * samples themselves. Grayscale and palette PNGs of 1 to 16 bits, not interlaced.
 */

export interface LabelMap {
  width: number;
  height: number;
  /** Row-major class index per pixel. */
  labels: Uint16Array;
}

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const GRAY = 0;
const PALETTE = 3;
const GRAY_ALPHA = 4;

async function inflate(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('deflate'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** PNG's Paeth predictor. */
function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Undoes each scanline's filter in place; returns the rows' bytes without their filter bytes. */
function unfilter(data: Uint8Array, rowBytes: number, height: number, bpp: number, where: string): Uint8Array {
  if (data.length < (rowBytes + 1) * height) throw new Error(`${where}: the image data is shorter than ${height} rows of ${rowBytes} bytes`);
  const out = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    const filter = data[y * (rowBytes + 1)]!;
    const src = data.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1));
    const row = out.subarray(y * rowBytes, (y + 1) * rowBytes);
    const up = y > 0 ? out.subarray((y - 1) * rowBytes, y * rowBytes) : null;
    for (let x = 0; x < rowBytes; x++) {
      const a = x >= bpp ? row[x - bpp]! : 0;
      const b = up ? up[x]! : 0;
      const c = up && x >= bpp ? up[x - bpp]! : 0;
      const v = src[x]!;
      switch (filter) {
        case 0:
          row[x] = v;
          break;
        case 1:
          row[x] = v + a;
          break;
        case 2:
          row[x] = v + b;
          break;
        case 3:
          row[x] = v + ((a + b) >> 1);
          break;
        case 4:
          row[x] = v + paeth(a, b, c);
          break;
        default:
          throw new Error(`${where}: row ${y} has an unknown PNG filter type ${filter}`);
      }
    }
  }
  return out;
}

/** The class index of each pixel of a grayscale or palette PNG. `where` names the file in errors. */
export async function decodeLabelPng(bytes: Uint8Array, where: string): Promise<LabelMap> {
  if (!SIGNATURE.every((b, i) => bytes[i] === b)) throw new Error(`${where}: a label map must be a PNG, and this is not one`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let header: { width: number; height: number; depth: number; colorType: number; interlace: number } | null = null;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 8 <= bytes.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const body = bytes.subarray(at + 8, at + 8 + length);
    if (body.length < length) throw new Error(`${where}: the PNG is truncated (its ${type} chunk runs past the end)`);
    if (type === 'IHDR') {
      header = { width: view.getUint32(at + 8), height: view.getUint32(at + 12), depth: body[8]!, colorType: body[9]!, interlace: body[12]! };
    } else if (type === 'IDAT') idat.push(body);
    else if (type === 'IEND') break;
    at += 12 + length;
  }
  if (!header) throw new Error(`${where}: the PNG has no IHDR chunk`);
  const { width, height, depth, colorType, interlace } = header;
  if (colorType !== GRAY && colorType !== PALETTE && colorType !== GRAY_ALPHA) {
    throw new Error(
      `${where}: a label map must be a grayscale or palette PNG whose values are class indices; this one is ${colorType === 2 ? 'RGB' : 'RGBA'} (colour-coded maps need converting first)`,
    );
  }
  if (interlace !== 0) throw new Error(`${where}: interlaced label maps are not read here; save it without interlacing`);
  const channels = colorType === GRAY_ALPHA ? 2 : 1;
  const bitsPerPixel = depth * channels;
  const rowBytes = Math.ceil((width * bitsPerPixel) / 8);
  const joined = new Uint8Array(idat.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const chunk of idat) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  let raw: Uint8Array;
  try {
    raw = await inflate(joined);
  } catch (e) {
    throw new Error(`${where}: the PNG's image data does not inflate (${(e as Error).message})`);
  }
  const rows = unfilter(raw, rowBytes, height, Math.max(1, bitsPerPixel >> 3), where);
  const labels = new Uint16Array(width * height);
  for (let y = 0; y < height; y++) {
    const row = rows.subarray(y * rowBytes);
    for (let x = 0; x < width; x++) {
      let value: number;
      if (depth === 16) value = (row[x * 2 * channels]! << 8) | row[x * 2 * channels + 1]!;
      else if (depth === 8) value = row[x * channels]!;
      else {
        const bit = x * depth;
        value = (row[bit >> 3]! >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
      }
      labels[y * width + x] = value;
    }
  }
  return { width, height, labels };
}
