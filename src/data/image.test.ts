// Node image decoding against Pillow's `Image.open(path).convert('RGB')` (fixtures/preprocess.json and the files
// in fixtures/images/, made by scripts/fixtures/preprocess.py). CPU only: no GPU needed.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { decodeImageBytes, decodeImageFile } from './image-node.ts';
import { rgbFromRgba } from './image.ts';
import { imageSize, jpegSegments, isStartOfFrame } from './imageSize.ts';

interface ImageEntry {
  file: string;
  pil_mode: string;
  width: number;
  height: number;
  rgb_sha256: string;
  rgb?: string;
}

interface Fixture {
  images: ImageEntry[];
  divergences: { file: string; reason: string; pil_rgb_sha256: string }[];
  corrupt: { file: string; pillow_error: string }[];
}

const ROOT = join(import.meta.dirname, '..', '..');
const IMAGES = join(ROOT, 'fixtures', 'images');
const fixture = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'preprocess.json'), 'utf8')) as Fixture;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

const pngs = fixture.images.filter((e) => e.file.endsWith('.png'));
const jpegs = fixture.images.filter((e) => e.file.endsWith('.jpg'));

describe('PNG decoding', () => {
  it.each(pngs.map((e) => [`${e.file} (PIL mode ${e.pil_mode})`, e] as const))('%s: the RGB bytes PIL gives', async (_, e) => {
    const img = await decodeImageFile(join(IMAGES, e.file));
    expect([img.width, img.height]).toEqual([e.width, e.height]);
    expect(img.data.length).toBe(e.width * e.height * 3);
    expect(sha256(img.data)).toBe(e.rgb_sha256);
  });

  it.each(fixture.divergences.map((d) => [d.file, d] as const))('%s: differs from PIL on purpose', async (_, d) => {
    // rgb_sha256 holds the high byte of each 16-bit sample (our choice), pil_rgb_sha256 Pillow's clipped values.
    const img = await decodeImageFile(join(IMAGES, d.file));
    const expected = fixture.images.find((e) => e.file === d.file)!;
    expect(sha256(img.data)).toBe(expected.rgb_sha256);
    expect(sha256(img.data)).not.toBe(d.pil_rgb_sha256);
  });
});

describe('JPEG decoding', () => {
  it.each(jpegs.map((e) => [e.file, e] as const))('%s: within 3 levels of PIL (libjpeg-turbo)', async (_, e) => {
    const img = await decodeImageFile(join(IMAGES, e.file));
    expect([img.width, img.height]).toEqual([e.width, e.height]);
    const want = Buffer.from(e.rgb!, 'base64');
    let worst = 0;
    let off = 0;
    for (let i = 0; i < want.length; i++) {
      const d = Math.abs(img.data[i]! - want[i]!);
      worst = Math.max(worst, d);
      if (d) off++;
    }
    // jpeg-js's IDCT rounds otherwise than libjpeg-turbo's islow IDCT: 1 level on some Y, Cb, Cr samples, up to 3
    // after the YCbCr -> RGB matrix. Upsampling and colour conversion are libjpeg's own. Measured: max 3, at most
    // 14.5% of the values off (gray: max 1, 7%). Replicated chroma would be off by up to 101 on these edges.
    expect(worst).toBeLessThanOrEqual(3);
    expect(off / want.length).toBeLessThanOrEqual(0.15);
  });
});

describe('undecodable input', () => {
  it.each(fixture.corrupt.map((c) => [c.file, c] as const))('%s is refused with a one-line message', async (file) => {
    const error = await decodeImageFile(join(IMAGES, file)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message.startsWith(`${file}: not a readable PNG, JPEG or WebP image (`)).toBe(true);
    expect(message).not.toContain('\n');
  });

  it('names a missing file', async () => {
    await expect(decodeImageFile(join(IMAGES, 'missing.png'))).rejects.toThrow(/missing\.png: cannot read the file \(ENOENT\)/);
  });

  it('labels in-memory bytes with the name given', async () => {
    await expect(decodeImageBytes(new Uint8Array([0x47, 0x49, 0x46, 0x38]), 'upload.gif')).rejects.toThrow(
      'upload.gif: not a readable PNG, JPEG or WebP image (no PNG, JPEG or WebP signature)',
    );
  });
});

describe('image size from the header', () => {
  it.each(fixture.images.map((e) => [e.file, e] as const))("%s: Pillow's width and height", (file, entry) => {
    const head = readFileSync(join(IMAGES, file)).subarray(0, 256 * 1024);
    expect(imageSize(head)).toEqual({ width: entry.width, height: entry.height });
  });

  /** A fixture whose header is rewritten to announce `width` x `height` (the pixel data stays small). */
  function claiming(file: string, width: number, height: number): Uint8Array {
    const bytes = new Uint8Array(readFileSync(join(IMAGES, file)));
    const view = new DataView(bytes.buffer);
    if (file.endsWith('.png')) {
      view.setUint32(16, width);
      view.setUint32(20, height);
    } else {
      const frame = [...jpegSegments(bytes)].find((s) => isStartOfFrame(s.marker))!;
      view.setUint16(frame.body + 1, height);
      view.setUint16(frame.body + 3, width);
    }
    return bytes;
  }

  it('refuses a decompression bomb before decoding it, naming the image and its size', async () => {
    await expect(decodeImageBytes(claiming(pngs[0]!.file, 20000, 20000), 'bomb.png')).rejects.toThrow(
      'bomb.png: 20000 x 20000 pixels (400 MP) is more than the 89.5 MP an image may have here; resize it first',
    );
    await expect(decodeImageBytes(claiming(jpegs[0]!.file, 65000, 65000), 'huge.jpg')).rejects.toThrow(/huge\.jpg: 65000 x 65000 pixels \(4225 MP\)/);
  });

  it('refuses a header that announces more pixels than the file can hold, before decoding it', async () => {
    const png = claiming(pngs[0]!.file, 9000, 9000);
    await expect(decodeImageBytes(png, 'big.png')).rejects.toThrow(
      `big.png is damaged: its header announces 9000 x 9000 pixels, more than its ${png.length} bytes can hold (PNG compresses at most 1032-fold)`,
    );
    const jpeg = claiming(jpegs[0]!.file, 9000, 9000);
    await expect(decodeImageBytes(jpeg, 'big.jpg')).rejects.toThrow(
      `big.jpg is damaged: its header announces 9000 x 9000 pixels, more than its ${jpeg.length} bytes can hold (JPEG compresses at most 512 pixels into a byte)`,
    );
  });

  it('decodes the most compressible images there are: one colour, as large as their bytes allow', async () => {
    // Deflate's best case (long runs of zeros) and a JPEG of identical blocks sit under the bounds with room.
    const black = new pngjs.PNG({ width: 1000, height: 1000, colorType: 2, inputHasAlpha: false });
    black.data = Buffer.alloc(1000 * 1000 * 3);
    const png = pngjs.PNG.sync.write(black, { colorType: 2, inputHasAlpha: false, deflateLevel: 9 });
    expect(await decodeImageBytes(png, 'black.png')).toMatchObject({ width: 1000, height: 1000 });
    const gray = jpeg.encode({ width: 1024, height: 1024, data: Buffer.alloc(1024 * 1024 * 4, 128) }, 50).data;
    expect(await decodeImageBytes(gray, 'gray.jpg')).toMatchObject({ width: 1024, height: 1024 });
  });
});

describe('rgbFromRgba', () => {
  it('drops alpha without compositing, as convert("RGB") does', () => {
    const img = rgbFromRgba([10, 20, 30, 0, 40, 50, 60, 128], 2, 1);
    expect(img).toEqual({ width: 2, height: 1, data: new Uint8Array([10, 20, 30, 40, 50, 60]) });
  });
});
