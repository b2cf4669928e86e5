/**
 * Decoded images as the CLIP preprocessing sees them: 8-bit RGB, alpha dropped (what PIL's `convert('RGB')` gives).
 * Browser decoding lives here; Node decoding (exact PNG, PIL-close JPEG) in image-node.ts.
 */
import { FileError } from '../fileError.ts';
import { refuseHugeImage } from './imageSize.ts';

/** How much of a file decodeImageBlob reads to find the image's size. */
const HEADER_BYTES = 256 * 1024;

export interface RgbImage {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel, row-major. */
  data: Uint8Array;
}

/** Drops the alpha byte of RGBA pixels without compositing, as PIL's `convert('RGB')` does. */
export function rgbFromRgba(rgba: ArrayLike<number>, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; q < data.length; p += 4, q += 3) {
    data[q] = rgba[p]!;
    data[q + 1] = rgba[p + 1]!;
    data[q + 2] = rgba[p + 2]!;
  }
  return { width, height, data };
}

/**
 * Decodes with the browser's own decoders (any format it reads). Not bit-exact with PIL: a 2D canvas stores
 * premultiplied alpha, so translucent pixels lose colour precision and fully transparent ones read back black
 * (PIL keeps their colour); browsers may also apply EXIF orientation, which PIL does not. ICC colour management
 * is turned off where the browser honours `colorSpaceConversion: 'none'`.
 *
 * With `shortSide`, an image whose short side is longer comes back scaled down to it (the canvas's high-quality
 * smoothing): a 12-megapixel photo for a 96-pixel model then never has full-size canvas and pixel copies.
 */
export async function decodeImageBlob(blob: Blob, shortSide?: number): Promise<RgbImage> {
  const name = blob instanceof File ? blob.name : 'image';
  // The header first: a JPEG's frame header may follow up to 64 KB of EXIF, and more is rare.
  refuseHugeImage(new Uint8Array(await blob.slice(0, HEADER_BYTES).arrayBuffer()), blob.size, name);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  } catch {
    throw new FileError(name, `${name}: not an image this browser can decode`);
  }
  try {
    // The bitmap's own size: after any EXIF rotation the browser applied.
    const short = Math.min(bitmap.width, bitmap.height);
    const scale = shortSide !== undefined && short > shortSide ? shortSide / short : 1;
    const width = Math.max(1, Math.round(bitmap.width * scale));
    const height = Math.max(1, Math.round(bitmap.height * scale));
    const context = new OffscreenCanvas(width, height).getContext('2d');
    if (!context) throw new Error(`${name}: no 2D canvas to decode the image into`);
    context.imageSmoothingQuality = 'high';
    context.drawImage(bitmap, 0, 0, width, height);
    return rgbFromRgba(context.getImageData(0, 0, width, height).data, width, height);
  } finally {
    bitmap.close();
  }
}
