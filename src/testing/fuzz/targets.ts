/**
 * What the fuzz suite mutates and which reader reads the result: every reader of files people bring that exists
 * here. Each target names its seeds (real files: made by torch, Pillow, Python's zipfile, safetensors' writer),
 * how a case mutates one, and how the reader is run to the end (every tensor read, every image decoded).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ByteSource } from '../../checkpoint/byteSource.ts';
import { bytesSource } from '../bytesSource.ts';
import { loadCheckpoint } from '../../checkpoint/loadCheckpoint.ts';
import { readTrainingCheckpoint } from '../../cosmos/trainingCheckpoint.ts';
import { decodeImageBlobInNode, decodeImageBytes } from '../../data/image-node.ts';
import { shardTrainingData } from '../../data/shardData.ts';
import type { Random } from '../../data/random.ts';
import { userDataFromZip } from '../../data/userData-browser.ts';
import { loadUserData, type UserData, type UserFile } from '../../data/userData.ts';
import { mutateCsv, mutateJsonl, mutateTxt } from './captions.ts';
import { mutateJpeg, mutatePng } from './images.ts';
import { type Mutation, mutateBytes, pick } from './mutate.ts';
import { mutatePickle, packArchive, unpackArchive, type Archive } from './pickle.ts';
import { mutateSafetensors } from './safetensors.ts';
import { mutateTar } from './tar.ts';
import { mutateZip } from './zip.ts';

const FIXTURES = join(import.meta.dirname, '..', '..', '..', 'fixtures');
const fixture = (path: string): Uint8Array => new Uint8Array(readFileSync(join(FIXTURES, path)));

/**
 * Each target's share of a run, in cases per 10,000 (the CI run's allotment): the cheap readers get more, the zip
 * of images (a whole data set per case) fewer.
 */
export const CASE_SHARES: Record<string, number> = {
  pt: 1150,
  pickle: 1150,
  torchscript: 1000,
  safetensors: 1200,
  png: 1200,
  jpeg: 1000,
  webp: 600,
  zip: 400,
  tar: 400,
  jsonl: 700,
  csv: 700,
  txt: 500,
};

/** How much a reader may read or decode per case, as a multiple of the file's size (plus a little). */
export const READ_BUDGET = { perByte: 64, slack: 64 * 1024 };

/**
 * A PNG's pixels may legitimately come to far more than 64 bytes per byte of file: deflate expands at most 1032
 * to 1, and a 1-bit pixel becomes 4 bytes of RGBA (32 to 1). Past that product a decoder made up pixels.
 */
const PNG_BYTES_PER_BYTE = 1032 * 32;

/** The names the cases' files go by, taken out of refusals to group them by kind. */
export const CASE_FILE_NAMES = ['model.pt', 'ViT-B-32.pt', 'model.safetensors', 'photo.png', 'photo.jpg', 'photo.webp', 'data.zip', 'shard-0000.tar', 'data'];

/** What a case gives the reader: the file's name (every refusal must name it) and its bytes. */
export interface FuzzCase {
  name: string;
  bytes: Uint8Array;
  /** Where the file is one of a data set: the set's name, which a refusal of the whole set names instead. */
  setName?: string;
}

/** The reader ran to the end; `bytesTouched` is what it read or decoded, `skipped` the reasons it gave for files it left out. */
export interface ReadResult {
  bytesTouched: number;
  skipped?: string[];
}

export interface FuzzTarget {
  name: string;
  /** The reader under test, in words (the README's table). */
  reader: string;
  /** Draws one case from the seeds. */
  draw(random: Random): Promise<FuzzCase>;
  /** Runs the reader; throws what the reader throws. */
  read(c: FuzzCase, random: Random): Promise<ReadResult>;
  /** What it may read or decode per byte of file, where READ_BUDGET.perByte is too little for the format. */
  bytesPerByte?: number;
}

/** A ByteSource that counts what is read from it. */
function counting(source: ByteSource): ByteSource & { readonly count: number } {
  let count = 0;
  return {
    size: source.size,
    name: source.name,
    get count() {
      return count;
    },
    read(offset, length) {
      count += length;
      return source.read(offset, length);
    },
  };
}

/** A checkpoint read as the app reads one: its weights (student or teacher), their values, a training checkpoint's optimizer. */
async function readCheckpoint({ name, bytes }: FuzzCase, random: Random): Promise<ReadResult> {
  const source = counting(bytesSource(bytes, name));
  const { tensors, meta } = await loadCheckpoint(source, { weights: random() < 0.8 ? undefined : 'teacher' });
  // At most 64 tensors: a hostile pickle may list a million views of one storage, which a model never reads.
  for (const t of [...tensors.values()].slice(0, 64)) await t.read();
  if (meta.epoch !== null && meta.topLevelKeys.includes('optimizer')) await readTrainingCheckpoint(source);
  return { bytesTouched: source.count };
}

const mutated =
  (name: string, seeds: readonly Uint8Array[], mutations: readonly Mutation[]) =>
  async (random: Random): Promise<FuzzCase> => ({ name, bytes: pick(random, mutations)(random, pick(random, seeds)) });

/** A .pt whose data.pkl is mutated and repacked (fresh CRCs), so that the pickle reader is what meets it. */
function pickleCases(name: string, archives: readonly Archive[]) {
  return async (random: Random): Promise<FuzzCase> => {
    const archive = pick(random, archives);
    const pickle = archive.entries.find(([entry]) => entry === archive.pickle)![1];
    return { name, bytes: await packArchive(archive, mutatePickle(random, archive, pickle)) };
  };
}

async function decodeImage({ name, bytes }: FuzzCase): Promise<ReadResult> {
  const image = await decodeImageBytes(bytes, name);
  return { bytesTouched: image.data.length };
}

const userDataOptions = { decode: decodeImageBlobInNode, workingSize: 16 };

/** The summary's promise: each skipped file is named and given a one-line reason. */
function checkSummary({ summary }: UserData): ReadResult {
  for (const { path, reason } of summary.skipped) {
    if (!path || !reason || reason.includes('\n')) throw new Error(`a skipped file is listed without a one-line reason: ${JSON.stringify({ path, reason })}`);
  }
  return { bytesTouched: 0, skipped: summary.skipped.map((s) => s.reason) };
}

/** Shards in the reference's layout (jpg, png and webp images; txt, DreamLIP json and cls) and GNU and pax archives. */
const SHARDS = [
  'eval-data/shards/shard-0000.tar',
  'eval-data/shards/shard-0001.tar',
  'eval-data/shards/cls-0000.tar',
  'eval-data/tar-formats/gnu.tar',
  'eval-data/tar-formats/pax.tar',
];

const IMAGES = ['rgb-37x23.png', 'photo-37x23-420.jpg', 'palette-40x30.png'];

/** Three images and one captions file, as a dropped folder; with a .txt, the other two images get good ones. */
function folderWith(captions: { path: string; bytes: Uint8Array }): UserFile[] {
  const file = (path: string, bytes: Uint8Array): UserFile => ({ path: `data/${path}`, read: async () => new Blob([bytes as Uint8Array<ArrayBuffer>]) });
  const images = IMAGES.map((name) => file(name, fixture(`images/${name}`)));
  const texts = captions.path.endsWith('.txt') ? IMAGES.slice(1).map((name) => file(name.replace(/\.\w+$/, '.txt'), fixture('fuzz/caption.txt'))) : [];
  return [...images, ...texts, file(captions.path, captions.bytes)];
}

const captionsTarget = (file: string, seed: string, mutate: Mutation): FuzzTarget => ({
  name: file.slice(file.lastIndexOf('.') + 1),
  reader: `loadUserData: ${file} beside three images`,
  draw: async (random) => ({ ...(await mutated(file, [fixture(`fuzz/${seed}`)], [mutate])(random)), setName: 'data' }),
  async read({ name, bytes }) {
    // A .txt captions the image of its own name.
    const path = name.endsWith('.txt') ? 'rgb-37x23.txt' : name;
    return checkSummary(await loadUserData(folderWith({ path, bytes }), { ...userDataOptions, name: 'data' }));
  },
});

export async function fuzzTargets(): Promise<FuzzTarget[]> {
  // The small files twice as often as the COSMOS checkpoint (72 entries): cases stay cheap, every layout is met.
  const checkpoints = ['checkpoints/cosmos-tiny.pt', 'checkpoints/bare-state-dict.pt', 'checkpoints/written-by-cosmos-web.pt'].map(fixture);
  const weighted = [checkpoints[0]!, checkpoints[1]!, checkpoints[1]!, checkpoints[2]!, checkpoints[2]!];
  const scripted = [fixture('clip/resnet-scripted.pt')];
  const pngs = ['rgb-37x23.png', 'palette-40x30.png', 'interlaced-35x26.png', 'gray-alpha16-22x14.png', 'rgba16-25x21.png', 'gray2-19x11.png'];
  const jpegs = ['photo-37x23-420.jpg', 'photo-64x48-progressive.jpg', 'gray-45x37.jpg', 'cmyk-40x30.jpg', 'adobe-ycc-37x23.jpg', 'photo-61x45-422.jpg'];
  const webps = ['lossy-alpha-37x23.webp', 'lossless-alpha-29x17.webp', 'lossy-40x30.webp'];
  return [
    {
      name: 'pt',
      reader: 'loadCheckpoint + readTrainingCheckpoint on torch.save zips',
      draw: mutated('model.pt', weighted, [mutateZip]),
      read: readCheckpoint,
    },
    {
      name: 'pickle',
      reader: 'unpickle (data.pkl of a .pt, repacked with fresh CRCs)',
      draw: pickleCases('model.pt', await Promise.all(weighted.map(unpackArchive))),
      read: readCheckpoint,
    },
    {
      name: 'torchscript',
      reader: 'loadCheckpoint on a TorchScript archive (zip and data.pkl)',
      draw: async (random) =>
        random() < 0.5 ? mutated('ViT-B-32.pt', scripted, [mutateZip])(random) : pickleCases('ViT-B-32.pt', [await unpackArchive(scripted[0]!)])(random),
      read: readCheckpoint,
    },
    {
      name: 'safetensors',
      reader: 'loadCheckpoint on .safetensors',
      draw: mutated('model.safetensors', [fixture('fuzz/tensors.safetensors'), fixture('checkpoints/tensors.safetensors')], [mutateSafetensors]),
      read: readCheckpoint,
    },
    {
      name: 'png',
      reader: 'decodeImageBytes (header check, pngjs)',
      draw: mutated(
        'photo.png',
        pngs.map((f) => fixture(`images/${f}`)),
        [mutatePng],
      ),
      read: decodeImage,
      bytesPerByte: PNG_BYTES_PER_BYTE,
    },
    {
      name: 'jpeg',
      reader: 'decodeImageBytes (header check, jpeg-js)',
      draw: mutated(
        'photo.jpg',
        jpegs.map((f) => fixture(`images/${f}`)),
        [mutateJpeg],
      ),
      read: decodeImage,
    },
    {
      // RIFF sizes, chunk sizes and the VP8/VP8L headers are all numbers the byte mutations edit.
      name: 'webp',
      reader: 'decodeImageBytes (header check, libwebp in wasm)',
      draw: mutated(
        'photo.webp',
        webps.map((f) => fixture(`images/${f}`)),
        [mutateBytes],
      ),
      read: decodeImage,
    },
    {
      name: 'zip',
      reader: 'userDataFromZip (zip.js, inflate limit, images and captions.jsonl inside)',
      draw: mutated('data.zip', [fixture('fuzz/user-data.zip')], [mutateZip]),
      async read({ name, bytes }) {
        const zip = new File([bytes as Uint8Array<ArrayBuffer>], name);
        return checkSummary(await userDataFromZip(zip, { ...userDataOptions, maxEntryBytes: 2 ** 20 }));
      },
    },
    {
      name: 'tar',
      reader: 'shardTrainingData (webdataset shard: tar stream, keys, txt/json/cls, images decoded)',
      draw: async (random) => ({
        ...(await mutated('shard-0000.tar', SHARDS.map(fixture), [mutateTar])(random)),
        setName: 'data',
      }),
      async read({ name, bytes }) {
        const shard = { name, blob: new Blob([bytes as Uint8Array<ArrayBuffer>]) };
        return checkSummary(await shardTrainingData([shard], { ...userDataOptions, name: 'data' }));
      },
    },
    captionsTarget('captions.jsonl', 'captions.jsonl', mutateJsonl),
    captionsTarget('captions.csv', 'captions.csv', mutateCsv),
    captionsTarget('caption.txt', 'caption.txt', mutateTxt),
  ];
}
