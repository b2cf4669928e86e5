// WebP decoding in Node against Pillow's libwebp (fixtures/webp.json and fixtures/images/*.webp, made by
// scripts/fixtures/webp.py). CPU only: no GPU needed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileError } from '../fileError.ts';
import { decodeImageBytes } from './image-node.ts';
import { imageSize } from './imageSize.ts';
import { decodeWebpRgba } from './webp-node.ts';

interface WebpEntry {
  file: string;
  encoding: string;
  chunk: string;
  pil_mode: string;
  width: number;
  height: number;
  rgba: string;
  rgb: string;
}

interface Fixture {
  images: WebpEntry[];
  truncated: { file: string; bytes: number; pillow_error: string };
  animated: WebpEntry;
}

const ROOT = join(import.meta.dirname, '..', '..');
const fixture = JSON.parse(readFileSync(join(ROOT, 'fixtures', 'webp.json'), 'utf8')) as Fixture;
const bytesOf = (file: string) => new Uint8Array(readFileSync(join(ROOT, 'fixtures', 'images', file)));
const base64 = (data: string) => new Uint8Array(Buffer.from(data, 'base64'));

describe('WebP decoding', () => {
  it('covers lossy, lossless and lossy with an alpha plane', () => {
    expect(fixture.images.map((e) => e.chunk).sort()).toEqual(['VP8 ', 'VP8L', 'VP8X']);
  });

  it.each(fixture.images.map((e) => [`${e.file} (${e.encoding})`, e] as const))("%s: Pillow's RGBA and RGB, exactly", async (_, e) => {
    const rgba = await decodeWebpRgba(bytesOf(e.file));
    expect([rgba!.width, rgba!.height]).toEqual([e.width, e.height]);
    expect(new Uint8Array(rgba!.data.buffer, rgba!.data.byteOffset, rgba!.data.length)).toEqual(base64(e.rgba));
    const rgb = await decodeImageBytes(bytesOf(e.file), e.file);
    expect(rgb.data).toEqual(base64(e.rgb));
  });

  it.each(fixture.images.map((e) => [e.file, e] as const))('%s: size from the header', (file, e) => {
    expect(imageSize(bytesOf(file))).toEqual({ width: e.width, height: e.height });
  });

  it('refuses a truncated file that Pillow refuses too, naming it', async () => {
    const { file, bytes, pillow_error } = fixture.truncated;
    expect(pillow_error).toBeTruthy();
    const error = await decodeImageBytes(bytesOf(file).subarray(0, bytes), file).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FileError);
    expect((error as FileError).message).toBe(`${file}: not a readable PNG, JPEG or WebP image (libwebp cannot decode it: the file is damaged or truncated)`);
  });

  it('refuses an animation, of which Pillow would read the first frame, with a sentence', async () => {
    const { file, width, height } = fixture.animated;
    expect(imageSize(bytesOf(file))).toEqual({ width, height });
    await expect(decodeImageBytes(bytesOf(file), file)).rejects.toThrow(
      `${file}: not a readable PNG, JPEG or WebP image (an animated WebP, which is not read here; save one frame as an image)`,
    );
  });

  it('refuses a decompression bomb from the header, before decoding', async () => {
    // The lossless header's 14-bit sizes minus one: 16384 x 16384 = 268 MP.
    const bomb = bytesOf('lossless-alpha-29x17.webp');
    new DataView(bomb.buffer).setUint32(21, ((bomb[24]! & 0xf0) << 24) | 0x0fffffff, true);
    await expect(decodeImageBytes(bomb, 'bomb.webp')).rejects.toThrow(
      'bomb.webp: 16384 x 16384 pixels (268 MP) is more than the 89.5 MP an image may have here; resize it first',
    );
  });
});
