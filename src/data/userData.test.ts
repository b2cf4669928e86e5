// The user's own data (folders and zips of captioned images), in Node with image-node.ts's decoder injected.
// CPU only: no GPU needed. Images are small solid colours, so each caption can be checked against its pixels.
import { BlobReader, BlobWriter, Uint8ArrayReader, ZipReader, ZipWriter } from '@zip.js/zip.js/index-native.js';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { describe, expect, it } from 'vitest';
import { cropRgb, preprocessToSize } from '../data/preprocess.ts';
import { rng } from './random.ts';
import type { TrainingData } from './dataset.ts';
import type { RgbImage } from './image.ts';
import { decodeImageBlobInNode } from './image-node.ts';
import { droppedFiles, type PathedBlob, userDataFromFiles, userDataFromZip } from './userData-browser.ts';
import { type ImageDecoder, parseCsv, type UserData, UserDataError } from './userData.ts';

const decode: ImageDecoder = decodeImageBlobInNode;

type Colour = [number, number, number];

function rgbImage(width: number, height: number, pixel: (x: number, y: number) => Colour): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data.set(pixel(x, y), (y * width + x) * 3);
  return { width, height, data };
}

function png(img: RgbImage): Uint8Array<ArrayBuffer> {
  const out = new pngjs.PNG({ width: img.width, height: img.height });
  for (let p = 0; p < img.width * img.height; p++) {
    out.data.set(img.data.subarray(p * 3, p * 3 + 3), p * 4);
    out.data[p * 4 + 3] = 255;
  }
  return new Uint8Array(pngjs.PNG.sync.write(out));
}

function jpg(img: RgbImage): Uint8Array<ArrayBuffer> {
  const rgba = new Uint8Array(img.width * img.height * 4);
  for (let p = 0; p < img.width * img.height; p++) rgba.set([...img.data.subarray(p * 3, p * 3 + 3), 255], p * 4);
  return new Uint8Array(jpeg.encode({ width: img.width, height: img.height, data: rgba }, 95).data);
}

/** A distinct solid colour per caption number, 24 x 20 pixels (not square: the centre crop matters). */
const colourOf = (n: number): Colour => [(n * 37) % 256, 255 - ((n * 53) % 256), (n * 91 + 40) % 256];
const solid = (n: number) => rgbImage(24, 20, () => colourOf(n));

type Folder = Record<string, Uint8Array<ArrayBuffer> | string>;

const blobs = (folder: Folder): PathedBlob[] => Object.entries(folder).map(([path, content]) => ({ path, blob: new Blob([content]) }));
const fromFolder = (folder: Folder, workingSize = 32) => userDataFromFiles(blobs(folder), { decode, workingSize });
const jsonl = (...records: unknown[]) => records.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n');

/** Every pair, training ones first (one pass) then held-out, as caption -> centre pixel at `size`. */
function pairsOf({ data, summary }: UserData, size = 16): Map<string, Colour> {
  const train = Array.from({ length: summary.used - summary.heldOut }, (_, i) => data.train(i, size));
  const pairs = new Map<string, Colour>();
  for (const { image, caption } of [...train, ...data.heldOut(summary.heldOut, size)]) {
    expect([image.width, image.height]).toEqual([size, size]);
    const at = ((size >> 1) * size + (size >> 1)) * 3;
    pairs.set(caption, [...image.data.subarray(at, at + 3)] as Colour);
  }
  expect(pairs.size).toBe(summary.used);
  return pairs;
}

/** Each caption's image has the colour the caption's number was given (JPEG: within 3 levels). */
function expectColours(pairs: Map<string, Colour>, numbers: Record<string, number>): void {
  expect([...pairs.keys()].sort()).toEqual(Object.keys(numbers).sort());
  for (const [caption, colour] of pairs) {
    for (const [c, v] of colour.entries()) expect(Math.abs(v - colourOf(numbers[caption]!)[c]!)).toBeLessThanOrEqual(3);
  }
}

describe('captions.jsonl', () => {
  it('pairs images with captions by path relative to the captions file, with either key spelling', async () => {
    const progress: number[] = [];
    const folder: Folder = {
      'photos/captions.jsonl': jsonl(
        { file: 'a.png', caption: 'A red kite.' },
        { image: 'sub/b.jpg', text: 'A blue boat.' },
        '',
        `${JSON.stringify({ file: './c.PNG', caption: ['First caption.', 'Second caption.'] })}\r`,
        '{not json',
        { file: 'a.png' },
        { caption: 'nameless' },
      ),
      'photos/a.png': png(solid(1)),
      'photos/sub/b.jpg': jpg(solid(2)),
      'photos/c.PNG': png(solid(3)),
    };
    const loaded = await userDataFromFiles(blobs(folder), { decode, workingSize: 32, onProgress: (done) => progress.push(done) });
    expect(loaded.data.name).toBe('photos');
    expect(loaded.summary.captionSource).toBe('photos/captions.jsonl');
    expect(loaded.summary.used).toBe(3);
    expectColours(pairsOf(loaded), { 'A red kite.': 1, 'A blue boat.': 2, 'First caption.\nSecond caption.': 3 });
    expect(loaded.summary.skipped).toEqual([
      { path: 'photos/captions.jsonl', reason: 'line 5: not valid JSON' },
      { path: 'photos/captions.jsonl', reason: 'line 6: needs a non-empty "caption" or "text"' },
      { path: 'photos/captions.jsonl', reason: 'line 7: needs a "file" or "image" key naming the image' },
    ]);
    expect(progress).toEqual([1, 2, 3]);
  });

  it('lists a caption line naming a missing image, and an image without a caption, and uses the rest', async () => {
    const { summary } = await fromFolder({
      'captions.jsonl': jsonl({ file: 'a.png', caption: 'one' }, { file: 'b.png', caption: 'two' }, { file: 'ghost.png', caption: 'boo' }),
      'a.png': png(solid(1)),
      'b.png': png(solid(2)),
      'lonely.png': png(solid(3)),
    });
    expect(summary.used).toBe(2);
    expect(summary.skipped).toEqual([
      { path: 'ghost.png', reason: 'named on line 3 of captions.jsonl, but no such image is in the data set' },
      { path: 'lonely.png', reason: 'no caption in captions.jsonl' },
    ]);
  });
});

describe('captions.csv', () => {
  it('parses RFC 4180: quoted commas, line breaks and doubled quotes, CRLF or LF records', () => {
    const text = 'image,caption\r\na.png,"one, two"\r\n"b.png","line one\r\nline two"\n c.png ,"say ""hi"""\n\n"",\n';
    expect(parseCsv(text)).toEqual([['image', 'caption'], ['a.png', 'one, two'], ['b.png', 'line one\r\nline two'], [' c.png ', 'say "hi"'], [''], ['', '']]);
    expect(parseCsv('x,"unterminated\nstill')).toEqual([['x', 'unterminated\nstill']]);
  });

  it('reads the image and caption columns wherever they are, and lists bad rows', async () => {
    const loaded = await fromFolder({
      'set/captions.csv': [
        'id,Caption,File',
        '1,"A dog, brown.",a.png',
        '2,"Two lines.\nSecond.",b.jpeg',
        '3,"He said ""no"".",imgs/c.jpg',
        '4,orphan caption,',
        '5,,a.png',
      ].join('\n'),
      'set/a.png': png(solid(1)),
      'set/b.jpeg': jpg(solid(2)),
      'set/imgs/c.jpg': jpg(solid(3)),
    });
    expectColours(pairsOf(loaded), { 'A dog, brown.': 1, 'Two lines.\nSecond.': 2, 'He said "no".': 3 });
    expect(loaded.summary.skipped).toEqual([
      { path: 'set/captions.csv', reason: 'row 5: no image name' },
      { path: 'set/captions.csv', reason: 'row 6: no caption' },
    ]);
  });

  it('says what a header lacks', async () => {
    const failure = fromFolder({ 'captions.csv': 'path,description\na.png,x\n', 'a.png': png(solid(1)), 'b.png': png(solid(2)) });
    await expect(failure).rejects.toThrow(/^No usable image-caption pair in 3 files; training needs at least 2/);
    const { summary } = (await failure.catch((e: UserDataError) => e)) as UserDataError;
    expect(summary.skipped).toContainEqual({
      path: 'captions.csv',
      reason: 'header: needs an "image" or "file" column and a "caption" or "text" column',
    });
  });
});

describe('per-image .txt captions', () => {
  it('reads a .txt with the same base name next to each image, and lists what is left over', async () => {
    const loaded = await fromFolder({
      'd/a.png': png(solid(1)),
      'd/a.txt': '  A cat.\r\nOn a mat.\n',
      'd/b.JPG': jpg(solid(2)),
      'd/b.TXT': 'A fox.',
      'd/c.jpeg': jpg(solid(3)),
      'd/empty.png': png(solid(4)),
      'd/empty.txt': ' \n',
      'd/notes.txt': 'about the data set',
      'd/readme.md': '# hi',
      'd/__MACOSX/d/._a.png': 'resource fork',
      'd/.DS_Store': 'finder',
    });
    expect(loaded.summary.captionSource).toBe('per-image .txt files');
    expectColours(pairsOf(loaded), { 'A cat.\nOn a mat.': 1, 'A fox.': 2 });
    expect(loaded.summary.skipped).toEqual([
      { path: 'd/c.jpeg', reason: 'no caption: no c.txt next to it' },
      { path: 'd/empty.png', reason: 'no caption: no empty.txt next to it' },
      { path: 'd/empty.txt', reason: 'the caption file is empty' },
      { path: 'd/notes.txt', reason: 'a caption file with no .png, .jpg or .jpeg image of the same name' },
      { path: 'd/readme.md', reason: 'not a .png, .jpg or .jpeg image, nor a captions file' },
    ]);
  });
});

describe('precedence', () => {
  const images: Folder = { 'a.png': png(solid(1)), 'b.png': png(solid(2)), 'a.txt': 'txt a', 'b.txt': 'txt b' };
  const csv = 'file,text\na.png,csv a\nb.png,csv b\n';
  const lines = jsonl({ file: 'a.png', caption: 'jsonl a' }, { file: 'b.png', caption: 'jsonl b' });

  it('captions.jsonl over captions.csv over .txt files', async () => {
    const all = await fromFolder({ ...images, 'captions.csv': csv, 'captions.jsonl': lines });
    expectColours(pairsOf(all), { 'jsonl a': 1, 'jsonl b': 2 });
    expect(all.summary.skipped).toEqual([{ path: 'captions.csv', reason: 'not used: captions.jsonl takes precedence' }]);
    const csvAndTxt = await fromFolder({ ...images, 'captions.csv': csv });
    expectColours(pairsOf(csvAndTxt), { 'csv a': 1, 'csv b': 2 });
    expect(csvAndTxt.summary.skipped).toEqual([]);
    expectColours(pairsOf(await fromFolder(images)), { 'txt a': 1, 'txt b': 2 });
  });
});

describe('images that do not decode', () => {
  it('are listed with the decoder error and skipped; the others are used', async () => {
    const good = jpg(solid(2));
    const { summary, data } = await fromFolder({
      'captions.jsonl': jsonl(...['a.png', 'b.jpg', 'broken.png', 'truncated.jpg', 'text.jpeg'].map((file) => ({ file, caption: file }))),
      'a.png': png(solid(1)),
      'b.jpg': good,
      'broken.png': png(solid(3)).slice(0, 40),
      'truncated.jpg': good.slice(0, good.length >> 1),
      'text.jpeg': 'not an image at all',
    });
    expect(summary.used).toBe(2);
    expect(summary.skipped.map((s) => s.path)).toEqual(['broken.png', 'text.jpeg', 'truncated.jpg']);
    expect(summary.skipped[1]!.reason).toBe('not a readable PNG, JPEG or WebP image (no PNG, JPEG or WebP signature)');
    for (const { reason } of summary.skipped) expect(reason).toMatch(/^not a readable PNG, JPEG or WebP image \(.+\)$/);
    expect(data.train(0, 8).image.width).toBe(8);
  });
});

describe('a zip', () => {
  async function zipOf(folder: Folder): Promise<Blob> {
    const writer = new ZipWriter(new BlobWriter(), { useWebWorkers: false });
    for (const [path, content] of Object.entries(folder)) {
      const bytes = typeof content === 'string' ? new TextEncoder().encode(content) : content;
      await writer.add(path, new Uint8ArrayReader(bytes), { level: 9 });
    }
    return writer.close();
  }

  it('reads deflated entries under a folder prefix, ignoring __MACOSX and dotfiles', async () => {
    const zip = await zipOf({
      'my-data/captions.jsonl': jsonl(...[1, 2, 3].map((n) => ({ file: `img/${n}.png`, caption: `picture ${n} `.repeat(40).trim() }))),
      'my-data/img/1.png': png(solid(1)),
      'my-data/img/2.png': png(solid(2)),
      'my-data/img/3.png': png(solid(3)),
      '__MACOSX/my-data/img/._1.png': 'resource fork',
      'my-data/.DS_Store': 'finder',
    });
    const reader = new ZipReader(new BlobReader(zip), { useWebWorkers: false });
    const entries = await reader.getEntries();
    await reader.close();
    expect(entries.map((e) => e.compressionMethod)).toEqual(entries.map(() => 8)); // 8: deflate
    expect(entries[0]!.compressedSize).toBeLessThan(entries[0]!.uncompressedSize);

    const loaded = await userDataFromZip(new File([zip], 'my-data.zip'), { decode, workingSize: 32 });
    expect(loaded.data.name).toBe('my-data.zip');
    expect(loaded.summary.skipped).toEqual([]);
    expectColours(pairsOf(loaded), Object.fromEntries([1, 2, 3].map((n) => [`picture ${n} `.repeat(40).trim(), n])));
    // A single chosen .zip is read as a zip.
    expect((await userDataFromFiles([new File([zip], 'my-data.zip')], { decode, workingSize: 32 })).summary.used).toBe(3);
  });

  it('reads only the entries it needs, through slices of the Blob', async () => {
    const random = rng(1);
    const noise = Uint8Array.from({ length: 400_000 }, () => random() * 256); // incompressible
    const zip = await zipOf({ 'a.png': png(solid(1)), 'a.txt': 'one', 'b.png': png(solid(2)), 'b.txt': 'two', 'unused.bin': noise });
    let bytesRead = 0;
    /** Counts what zip.js reads: it asks for slices of the Blob it is given. */
    class CountingBlob extends Blob {
      override slice(start?: number, end?: number, type?: string): Blob {
        bytesRead += (end ?? this.size) - (start ?? 0);
        return super.slice(start, end, type);
      }
    }
    const { summary } = await userDataFromZip(new CountingBlob([zip]), { decode, workingSize: 32, name: 'counted' });
    expect(summary.skipped).toEqual([{ path: 'unused.bin', reason: 'not a .png, .jpg or .jpeg image, nor a captions file' }]);
    // The search for the end-of-archive record reads the last 64 KiB; unused.bin's 400 kB are never read.
    expect(bytesRead).toBeLessThan(zip.size / 4);
  });

  it('stops inflating an entry at the limit, whatever the archive declares: a zip bomb is skipped, not held', async () => {
    const zeros = new Uint8Array(2 * 2 ** 20); // 2 MiB that deflate to a few kilobytes
    const zip = await zipOf({ 'a.png': png(solid(1)), 'a.txt': 'one', 'b.png': png(solid(2)), 'b.txt': 'two', 'bomb.png': zeros, 'bomb.txt': 'boom' });
    expect(zip.size).toBeLessThan(64 * 1024);
    const { summary } = await userDataFromZip(new File([zip], 'bombed.zip'), { decode, workingSize: 32, maxEntryBytes: 2 ** 20 });
    expect(summary.used).toBe(2);
    expect(summary.skipped).toEqual([{ path: 'bomb.png', reason: 'inflates to more than the 1 MiB a file in a zip may have here' }]);
  });

  it('that is not a zip is one clear error', async () => {
    await expect(userDataFromZip(new File(['just text'], 'notes.zip'), { decode, workingSize: 32 })).rejects.toThrow(
      /^notes\.zip is not a readable zip archive \(.+\)\.$/,
    );
  });
});

describe('the split and the images', () => {
  const numbered = (count: number): Folder => {
    const folder: Folder = {};
    for (let n = 0; n < count; n++) {
      const name = `img${String(n).padStart(2, '0')}`;
      folder[`${name}.png`] = png(solid(n));
      folder[`${name}.txt`] = name;
    }
    return folder;
  };

  it('holds out every 10th pair, which training never returns; each pass is a new order of all the others', async () => {
    const { data, summary } = await fromFolder(numbered(25));
    expect([summary.used, summary.heldOut]).toEqual([25, 2]);
    expect(data.heldOut(10, 8).map((p) => p.caption)).toEqual(['img09', 'img19']);
    expect(data.heldOut(1, 8).map((p) => p.caption)).toEqual(['img09']);
    const train = Array.from({ length: 23 }, (_, n) => `img${String(n).padStart(2, '0')}`).filter((c) => c !== 'img09' && c !== 'img19');
    const passes = [0, 1, 2].map((pass) => Array.from({ length: 23 }, (_, i) => data.train(pass * 23 + i, 8).caption));
    for (const pass of passes) expect([...pass].sort()).toEqual([...train, 'img23', 'img24'].sort());
    expect(passes[0]).not.toEqual(passes[1]);
    expect(data.train(5, 8)).toEqual(data.train(5, 8)); // deterministic
  });

  it('holds out one pair of a small set', async () => {
    const { data, summary } = await fromFolder(numbered(3));
    expect([summary.used, summary.heldOut]).toEqual([3, 1]);
    expect(data.heldOut(5, 8).map((p) => p.caption)).toEqual(['img02']);
    const seen = new Set(Array.from({ length: 20 }, (_, i) => data.train(i, 8).caption));
    expect([...seen].sort()).toEqual(['img00', 'img01']);
  });

  it('decodes each image once, keeps it at the working size, and resizes it once per size asked for', async () => {
    const wide = rgbImage(40, 30, (x, y) => [x * 6, y * 8, (x * y) % 256]);
    const small = rgbImage(12, 20, (x, y) => [x * 20, y * 12, 99]);
    const decoded: string[] = [];
    const counting: ImageDecoder = (blob, path) => {
      decoded.push(path);
      return decode(blob, path);
    };
    const { data } = await userDataFromFiles(blobs({ 'wide.png': png(wide), 'wide.txt': 'wide', 'small.png': png(small), 'small.txt': 'small' }), {
      decode: counting,
      workingSize: 16,
    });
    // One pair trains, the other is held out.
    const byCaption = (d: TrainingData, size: number) => new Map([d.train(0, size), ...d.heldOut(1, size)].map((p) => [p.caption, p.image]));
    // The working copy is what preprocessToSize gives at the working size; a smaller image is only centre-cropped.
    expect(byCaption(data, 16).get('wide')).toEqual(preprocessToSize(wide, 16));
    expect(byCaption(data, 12).get('small')).toEqual(cropRgb(small, 0, 4, 12, 12));
    expect(byCaption(data, 8).get('wide')).toEqual(preprocessToSize(preprocessToSize(wide, 16), 8));
    expect(data.train(0, 8).image).toBe(data.train(0, 8).image); // cached
    expect(decoded.sort()).toEqual(['small.png', 'wide.png']);
  });

  it('shrinks a photo much larger than the working size by block averages first, within 2 levels of a direct resize', async () => {
    const photo = rgbImage(640, 480, (x, y) => [(x * 255) / 639, (y * 255) / 479, ((x + y) * 255) / 1118].map(Math.round) as Colour);
    const folder = { 'photo.png': png(photo), 'photo.txt': 'photo', 'other.png': png(solid(1)), 'other.txt': 'other' };
    const { data } = await userDataFromFiles(blobs(folder), { decode, workingSize: 32 });
    const working = data.heldOut(1, 32)[0]!;
    expect(working.caption).toBe('photo');
    const direct = preprocessToSize(photo, 32);
    // On smooth gradients box averages then bicubic stay close to bicubic alone.
    const worst = Math.max(...working.image.data.map((v, i) => Math.abs(v - direct.data[i]!)));
    expect(worst).toBeLessThanOrEqual(2);
  });

  it('fewer than 2 usable pairs is an error that says why', async () => {
    const one = fromFolder({ 'a.png': png(solid(1)), 'a.txt': 'one', 'b.png': 'garbage', 'b.txt': 'two' });
    await expect(one).rejects.toThrow(
      'Only one usable image-caption pair in 4 files; training needs at least 2. ' +
        '1 file was skipped, for example b.png: not a readable PNG, JPEG or WebP image (no PNG, JPEG or WebP signature).',
    );
    await expect(one).rejects.toBeInstanceOf(UserDataError);
    await expect(fromFolder({ 'top/notes.txt': 'hello' })).rejects.toThrow('No .png, .jpg or .jpeg images in top, so there is nothing to train on.');
  });
});

describe('a dropped folder', () => {
  /** The few FileSystemEntry members droppedFiles uses. */
  function fakeEntry(fullPath: string, children?: unknown[]): unknown {
    if (!children) return { fullPath, isFile: true, isDirectory: false, file: (ok: (f: File) => void) => ok(new File([fullPath], fullPath)) };
    const batches = [children.slice(0, 2), children.slice(2), []]; // readEntries answers in batches
    const readEntries = (ok: (e: unknown[]) => void) => ok(batches.shift()!);
    return { fullPath, isFile: false, isDirectory: true, createReader: () => ({ readEntries }) };
  }

  it('walks folders through every batch of entries, skipping dotfolders', async () => {
    const root = fakeEntry('/photos', [
      fakeEntry('/photos/a.png'),
      fakeEntry('/photos/.git', [fakeEntry('/photos/.git/HEAD')]),
      fakeEntry('/photos/sub', [fakeEntry('/photos/sub/b.png'), fakeEntry('/photos/sub/b.txt'), fakeEntry('/photos/sub/c.png')]),
      fakeEntry('/photos/captions.jsonl'),
    ]);
    const items = [{ webkitGetAsEntry: () => root }, { webkitGetAsEntry: () => null }, { webkitGetAsEntry: () => fakeEntry('/loose.png') }];
    const files = await droppedFiles({ items } as unknown as DataTransfer);
    expect(files.map((f) => f.path).sort()).toEqual([
      'loose.png',
      'photos/a.png',
      'photos/captions.jsonl',
      'photos/sub/b.png',
      'photos/sub/b.txt',
      'photos/sub/c.png',
    ]);
    expect(await files.find((f) => f.path === 'photos/a.png')!.blob.text()).toBe('/photos/a.png');
  });
});
