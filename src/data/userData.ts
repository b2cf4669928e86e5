/**
 * The user's own training data: images with captions from a dropped folder or a zip. Pure logic shared by the
 * browser and Node: files arrive as relative paths with contents read on demand, and images are decoded by an
 * injected decoder (the browser's in userData-browser.ts; image-node.ts's in Node).
 *
 * Captions come from, in order of precedence: `captions.jsonl` files, `captions.csv` files (image paths in
 * either are relative to that file's folder; .txt files are then not read), or a `.txt` next to each image with
 * the same base name. Several captions for one image are joined with newlines, which the text crops read as
 * sentence breaks. Whatever cannot be used is listed with its reason in the summary and skipped; only a data set
 * left with fewer than two image-caption pairs is an error.
 *
 * Pairs are ordered by path; every 10th is held out. `train(index)` walks the others in a seeded shuffle, a new
 * one each pass, so that batches of consecutive indices mix the folders.
 */
import { FileError } from '../fileError.ts';
import { errorMessage, printable } from '../format.ts';
import { preprocessToSize } from './preprocess.ts';
import { rng } from './random.ts';
import type { ImageCaption, TrainingData } from './dataset.ts';
import type { RgbImage } from './image.ts';

export interface UserFile {
  /** Relative to what was dropped ('/' separators), a folder drop's or a zip's top folder included. */
  path: string;
  /** The contents; a zip entry is inflated only when this is called. */
  read(): Promise<Blob>;
}

/**
 * Decodes one image file; throws when it cannot. `path` labels errors. `shortSide` is a hint: the image may come
 * back scaled down so that its short side is that long (never shorter), which spares memory on large photos.
 */
export type ImageDecoder = (blob: Blob, path: string, shortSide?: number) => Promise<RgbImage>;

export interface UserDataOptions {
  decode: ImageDecoder;
  /**
   * Images are decoded once and kept as centre squares of this side (of their short side when smaller), which
   * bounds memory: the largest size `train` will be asked for (the trainer's source size). `train(i, size)` is
   * preprocessToSize of that square.
   */
  workingSize: number;
  /** Names the data set in the UI and in errors. */
  name: string;
  /** Seeds the shuffle of the training pairs, a new order each pass over them. */
  seed?: number;
  /** Called after each image is decoded (or fails to). */
  onProgress?: (done: number, total: number) => void;
}

export interface SkippedFile {
  path: string;
  reason: string;
}

export interface UserDataSummary {
  /** Image-caption pairs kept, the held-out ones included. */
  used: number;
  heldOut: number;
  /** Where the captions came from: the captions files' paths, or per-image .txt files. */
  captionSource: string;
  skipped: SkippedFile[];
}

export interface UserData {
  data: TrainingData;
  summary: UserDataSummary;
}

/** The data set as a whole is unusable (fewer than two pairs); `summary` says what was skipped and why. */
export class UserDataError extends Error {
  constructor(
    message: string,
    readonly summary: UserDataSummary,
  ) {
    super(message);
    this.name = 'UserDataError';
  }
}

const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];
/** Every 10th pair is held out for evaluation. */
const HELD_OUT_EVERY = 10;
/** Images decoded at once: the browser's decoders work in parallel; more would only hold more blobs. */
const DECODE_CONCURRENCY = 4;

/** macOS resource forks and dotfiles (.DS_Store, ._photo.jpg, .git/) are never part of a data set. */
export function isIgnoredPath(path: string): boolean {
  return normalisePath(path)
    .split('/')
    .some((part) => part === '__MACOSX' || part.startsWith('.'));
}

/** The user's images with their captions, before any is decoded. */
export interface CaptionedFiles {
  /** Image files by path, each with its caption (several joined by newlines). */
  captioned: [UserFile, string][];
  /** Image files found, captioned or not. */
  imageCount: number;
  captionSource: string;
  skipped: SkippedFile[];
}

/** Which image files have captions, and what was passed over and why: what the data set is made of. */
export async function captionedFiles(files: readonly UserFile[]): Promise<CaptionedFiles> {
  const skipped: SkippedFile[] = [];
  const byKind = classify(files, skipped);
  const { captions, source } = await collectCaptions(byKind, skipped);
  const captioned: [UserFile, string][] = [];
  for (const image of byKind.image) {
    const texts = captions.get(image.path);
    if (texts) captioned.push([image, texts.join('\n')]);
    else skipped.push({ path: image.path, reason: source.missing(image.path) });
  }
  return { captioned, imageCount: byKind.image.length, captionSource: source.label, skipped };
}

export async function loadUserData(files: readonly UserFile[], options: UserDataOptions): Promise<UserData> {
  const { captioned, imageCount, captionSource, skipped } = await captionedFiles(files);
  const images = await decodeAll(
    captioned.map(([file]) => file),
    options,
    skipped,
  );
  const pairs: Pair[] = [];
  captioned.forEach(([, caption], i) => {
    const working = images[i];
    if (working) pairs.push({ working, caption });
  });
  return splitPairs(pairs, { ...options, imageCount, captionSource, skipped });
}

/**
 * The pairs as a data set: every 10th held out, the rest shuffled per pass. Throws a UserDataError when fewer than
 * two are left; `imageCount` (the images found) and `skipped` make its sentence.
 */
export function splitPairs(
  pairs: Pair[],
  options: Pick<UserDataOptions, 'name' | 'seed'> & { imageCount: number; captionSource: string; skipped: SkippedFile[] },
): UserData {
  // Paths and reasons quote names from the user's files (a tar member's, a zip entry's), which may hold line breaks.
  const skipped = options.skipped.map(({ path, reason }) => ({
    path: printable(path, Number.POSITIVE_INFINITY),
    reason: printable(reason, Number.POSITIVE_INFINITY),
  }));
  skipped.sort((a, b) => compare(a.path, b.path) || compare(a.reason, b.reason));
  const heldOut = pairs.filter((_, i) => isHeldOut(i, pairs.length));
  const summary: UserDataSummary = { used: pairs.length, heldOut: heldOut.length, captionSource: options.captionSource, skipped };
  if (pairs.length < 2) throw new UserDataError(tooFewPairsMessage(options.name, options.imageCount, pairs.length, skipped), summary);
  const train = pairs.filter((_, i) => !isHeldOut(i, pairs.length));
  return { data: userTrainingData(options.name, train, heldOut, options.seed ?? 0), summary };
}

/** Every 10th pair, or the last one when there are fewer than 10: always at least one, never all. */
function isHeldOut(index: number, count: number): boolean {
  return index % HELD_OUT_EVERY === HELD_OUT_EVERY - 1 || (count < HELD_OUT_EVERY && index === count - 1);
}

function tooFewPairsMessage(name: string, images: number, pairs: number, skipped: SkippedFile[]): string {
  if (images === 0) return `No .png, .jpg or .jpeg images in ${name}, so there is nothing to train on.`;
  const first = skipped[0];
  const files = skipped.length === 1 ? '1 file was' : `${skipped.length} files were`;
  const why = first ? ` ${files} skipped, for example ${first.path}: ${first.reason}.` : '';
  return `${pairs === 0 ? 'No' : 'Only one'} usable image-caption pair in ${name}; training needs at least 2.${why}`;
}

export interface Pair {
  /** The decoded image at the working resolution. */
  working: RgbImage;
  caption: string;
  /** A webdataset sample's caption list, which text crops are drawn from (ImageCaption.captionList). */
  captionList?: readonly string[];
}

function userTrainingData(name: string, train: Pair[], heldOut: Pair[], seed: number): TrainingData {
  /** Each pair's image preprocessed to each size asked for. */
  const sized = new Map<Pair, Map<number, RgbImage>>();
  const at = (pair: Pair, size: number): ImageCaption => {
    const sizes = sized.get(pair) ?? new Map<number, RgbImage>();
    sized.set(pair, sizes);
    let image = sizes.get(size);
    if (!image) {
      const { working } = pair;
      image = working.width === size && working.height === size ? working : preprocessToSize(working, size);
      sizes.set(size, image);
    }
    return { image, caption: pair.caption, ...(pair.captionList ? { captionList: pair.captionList } : {}) };
  };
  let order = { pass: Number.NaN, indices: [] as number[] };
  return {
    name,
    train(index, size) {
      const pass = Math.floor(index / train.length);
      if (order.pass !== pass) order = { pass, indices: shuffledIndices(train.length, seed, pass) };
      return at(train[order.indices[index - pass * train.length]!]!, size);
    },
    heldOut: (count, size) => heldOut.slice(0, count).map((pair) => at(pair, size)),
  };
}

/** A Fisher-Yates permutation of 0..n-1, seeded by the seed and the pass over the data. */
function shuffledIndices(n: number, seed: number, pass: number): number[] {
  const random = rng((seed ^ Math.imul(pass, 0x9e3779b9)) >>> 0);
  const indices = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j]!, indices[i]!];
  }
  return indices;
}

async function decodeAll(files: UserFile[], options: UserDataOptions, skipped: SkippedFile[]): Promise<(RgbImage | null)[]> {
  const images: (RgbImage | null)[] = files.map(() => null);
  let next = 0;
  let done = 0;
  const decodeOne = async (file: UserFile): Promise<RgbImage | null> => {
    try {
      return await decodeWorking(await file.read(), file.path, options);
    } catch (e) {
      if (!isFileProblem(e)) throw e;
      skipped.push({ path: file.path, reason: errorReason(e, file.path) });
      return null;
    }
  };
  const worker = async () => {
    while (next < files.length) {
      const i = next++;
      images[i] = await decodeOne(files[i]!);
      options.onProgress?.(++done, files.length);
    }
  };
  await Promise.all(Array.from({ length: Math.min(DECODE_CONCURRENCY, files.length) }, worker));
  return images;
}

/** An image file decoded and kept as the centre square of the working size (of its short side when smaller). */
export async function decodeWorking(blob: Blob, path: string, options: Pick<UserDataOptions, 'decode' | 'workingSize'>): Promise<RgbImage> {
  // Twice the working size: what boxReduced keeps for the bicubic resize to start from.
  const image = await options.decode(blob, path, 2 * options.workingSize);
  if (image.width === 0 || image.height === 0) throw new FileError(path, 'the image has no pixels');
  const side = Math.min(options.workingSize, image.width, image.height);
  return preprocessToSize(boxReduced(image, side), side);
}

/**
 * Photos are far larger than the working size: averaging blocks of f x f pixels first (what Pillow's thumbnail()
 * does with its reducing gap) leaves the bicubic resize at least twice the working size to start from. About ten
 * times faster on a 12-megapixel photo, for no visible difference.
 */
function boxReduced(image: RgbImage, workingSize: number): RgbImage {
  const factor = Math.floor(Math.min(image.width, image.height) / (2 * workingSize));
  if (factor < 2) return image;
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const src = image.data;
  const data = new Uint8Array(width * height * 3);
  const sums = new Uint32Array(width * 3);
  for (let y = 0; y < height; y++) {
    sums.fill(0);
    for (let dy = 0; dy < factor; dy++) {
      let at = (y * factor + dy) * image.width * 3; // the columns past width * factor are dropped
      for (let x = 0; x < width * 3; x += 3) {
        for (let dx = 0; dx < factor; dx++, at += 3) {
          sums[x] += src[at]!;
          sums[x + 1] += src[at + 1]!;
          sums[x + 2] += src[at + 2]!;
        }
      }
    }
    const area = factor * factor;
    for (let i = 0; i < sums.length; i++) data[y * width * 3 + i] = Math.round(sums[i]! / area);
  }
  return { width, height, data };
}

/**
 * A problem of one file (it does not decode, it cannot be read): the file is skipped. Anything else is a fault of
 * ours or of the environment, and fails the whole load with its own sentence.
 */
const isFileProblem = (e: unknown): boolean => e instanceof FileError || e instanceof DOMException;

/** The error's message, without the file name the decoders put in front (the listing shows the path). */
export function errorReason(e: unknown, path: string): string {
  const message = errorMessage(e);
  const prefix = `${baseName(path)}: `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}

type Kind = 'image' | 'jsonl' | 'csv' | 'txt';

function classify(files: readonly UserFile[], skipped: SkippedFile[]): Record<Kind, UserFile[]> {
  const byKind: Record<Kind, UserFile[]> = { image: [], jsonl: [], csv: [], txt: [] };
  const seen = new Set<string>();
  for (const file of files) {
    const path = normalisePath(file.path);
    if (path === '' || isIgnoredPath(path) || seen.has(path)) continue;
    seen.add(path);
    const kind = kindOf(path);
    if (kind) byKind[kind].push({ path, read: () => file.read() });
    else skipped.push({ path, reason: 'not a .png, .jpg or .jpeg image, nor a captions file' });
  }
  for (const list of Object.values(byKind)) list.sort((a, b) => compare(a.path, b.path));
  return byKind;
}

function kindOf(path: string): Kind | null {
  const name = baseName(path).toLowerCase();
  if (name === 'captions.jsonl') return 'jsonl';
  if (name === 'captions.csv') return 'csv';
  const extension = extensionOf(path);
  if (IMAGE_EXTENSIONS.includes(extension)) return 'image';
  return extension === '.txt' ? 'txt' : null;
}

interface CaptionSource {
  label: string;
  /** Why an image without a caption has none. */
  missing(imagePath: string): string;
}

/** One caption-file record naming an image. */
interface CaptionRecord {
  /** "line 3", "row 4" */
  where: string;
  image: string;
  captions: string[];
}

type RecordParser = (text: string, problem: (where: string, reason: string) => void) => CaptionRecord[];

async function collectCaptions(byKind: Record<Kind, UserFile[]>, skipped: SkippedFile[]): Promise<{ captions: Map<string, string[]>; source: CaptionSource }> {
  const captions = new Map<string, string[]>();
  const add = (image: string, texts: string[]) => captions.set(image, [...(captions.get(image) ?? []), ...texts]);
  const captionFiles = byKind.jsonl.length > 0 ? byKind.jsonl : byKind.csv;
  if (captionFiles.length === 0) {
    await collectTextFiles(byKind, add, skipped);
    return { captions, source: { label: 'per-image .txt files', missing: (image) => `no caption: no ${baseName(stemOf(image))}.txt next to it` } };
  }
  const parse: RecordParser = captionFiles === byKind.jsonl ? parseJsonlRecords : parseCsvRecords;
  const winner = baseName(captionFiles[0]!.path);
  for (const unused of byKind.jsonl.length > 0 ? byKind.csv : []) {
    skipped.push({ path: unused.path, reason: `not used: ${winner} takes precedence` });
  }
  const images = new Set(byKind.image.map((file) => file.path));
  for (const file of captionFiles) {
    const text = await readText(file, skipped);
    if (text === null) continue;
    const records = parse(text, (where, reason) => skipped.push({ path: file.path, reason: `${where}: ${reason}` }));
    for (const record of records) {
      const image = normalisePath(folderOf(file.path) + record.image);
      if (images.has(image)) add(image, record.captions);
      else skipped.push({ path: image, reason: `named on ${record.where} of ${file.path}, but no such image is in the data set` });
    }
  }
  const label = captionFiles.map((file) => file.path).join(', ');
  return { captions, source: { label, missing: () => `no caption in ${label}` } };
}

async function collectTextFiles(byKind: Record<Kind, UserFile[]>, add: (image: string, texts: string[]) => void, skipped: SkippedFile[]): Promise<void> {
  const imagesByStem = new Map<string, string[]>();
  for (const { path } of byKind.image) imagesByStem.set(stemOf(path), [...(imagesByStem.get(stemOf(path)) ?? []), path]);
  for (const file of byKind.txt) {
    const images = imagesByStem.get(stemOf(file.path));
    if (!images) {
      skipped.push({ path: file.path, reason: 'a caption file with no .png, .jpg or .jpeg image of the same name' });
      continue;
    }
    const text = await readText(file, skipped);
    if (text === null) continue;
    const caption = cleanCaption(text);
    if (caption) for (const image of images) add(image, [caption]);
    else skipped.push({ path: file.path, reason: 'the caption file is empty' });
  }
}

async function readText(file: UserFile, skipped: SkippedFile[]): Promise<string | null> {
  try {
    return await (await file.read()).text();
  } catch (e) {
    if (!isFileProblem(e)) throw e;
    skipped.push({ path: file.path, reason: `cannot be read (${errorReason(e, file.path)})` });
    return null;
  }
}

/** `captions.jsonl`: one JSON object a line, `file` or `image` naming the image, `caption` or `text` (or a list). */
function parseJsonlRecords(text: string, problem: (where: string, reason: string) => void): CaptionRecord[] {
  const records: CaptionRecord[] = [];
  for (const [i, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `line ${i + 1}`;
    const record = jsonlRecord(line, where);
    if (typeof record === 'string') problem(where, record);
    else records.push(record);
  }
  return records;
}

/** One line of captions.jsonl as a record, or why it is not one. */
function jsonlRecord(line: string, where: string): CaptionRecord | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return 'not valid JSON';
  }
  const object = typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  const image = object.file ?? object.image;
  const captions = captionList(object.caption ?? object.text);
  if (typeof image !== 'string' || image.trim() === '') return 'needs a "file" or "image" key naming the image';
  if (captions.length === 0) return 'needs a non-empty "caption" or "text"';
  return { where, image: image.trim(), captions };
}

function captionList(value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value];
  return values.flatMap((v) => (typeof v === 'string' && cleanCaption(v) ? [cleanCaption(v)] : []));
}

/** `captions.csv`: a header row with an `image` or `file` column and a `caption` or `text` column. */
function parseCsvRecords(text: string, problem: (where: string, reason: string) => void): CaptionRecord[] {
  const rows = parseCsv(text);
  const headerAt = rows.findIndex((row) => row.some((cell) => cell.trim() !== ''));
  const header = (rows[headerAt] ?? []).map((cell) => cell.trim().toLowerCase());
  const imageColumn = header.findIndex((name) => name === 'image' || name === 'file');
  const captionColumn = header.findIndex((name) => name === 'caption' || name === 'text');
  if (imageColumn < 0 || captionColumn < 0) {
    problem('header', 'needs an "image" or "file" column and a "caption" or "text" column');
    return [];
  }
  const records: CaptionRecord[] = [];
  for (const [i, row] of rows.entries()) {
    const where = `row ${i + 1}`;
    if (i <= headerAt || row.every((cell) => cell.trim() === '')) continue;
    const image = row[imageColumn]?.trim() ?? '';
    const caption = cleanCaption(row[captionColumn] ?? '');
    if (image === '') problem(where, 'no image name');
    else if (caption === '') problem(where, 'no caption');
    else records.push({ where, image, captions: [caption] });
  }
  return records;
}

/**
 * RFC 4180 CSV: fields separated by commas, records by CRLF or LF; a field in double quotes may hold commas,
 * line breaks and doubled quotes. Lenient where the RFC is strict: text after a closing quote is kept.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  let fieldStarted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = false;
    } else if (c === '"' && !fieldStarted) {
      quoted = true;
      fieldStarted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
      fieldStarted = false;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      fieldStarted = false;
    } else {
      field += c;
      fieldStarted = true;
    }
  }
  if (fieldStarted || row.length > 0) rows.push([...row, field]);
  return rows;
}

/** Trimmed, with Windows line breaks made plain (line breaks separate sentences for the text crops). */
function cleanCaption(text: string): string {
  return text.replace(/\r\n?/g, '\n').trim();
}

/** '/' separators; empty and '.' segments dropped, '..' resolved (never above the root). */
function normalisePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return parts.join('/');
}

/** The folder part with its trailing '/', or '' at the root. */
const folderOf = (path: string) => path.slice(0, path.lastIndexOf('/') + 1);
const baseName = (path: string) => path.slice(path.lastIndexOf('/') + 1);
/** Lower-cased, with its dot; '' when there is none (a leading dot does not start an extension). */
function extensionOf(path: string): string {
  const name = baseName(path);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(dot).toLowerCase() : '';
}
const stemOf = (path: string) => path.slice(0, path.length - extensionOf(path).length);
/** By UTF-16 code units: the same order in every browser and locale. */
const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
