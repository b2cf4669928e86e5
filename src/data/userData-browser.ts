/**
 * The user's data as the page receives it: a dropped folder (its DataTransfer entries), the FileList of an
 * `<input webkitdirectory>`, or a zip. A zip is read lazily with zip.js: its central directory first, then one
 * entry at a time through slices of the Blob, so the archive is never inflated whole. Images are decoded with
 * the browser's decoders unless another decoder is given (Node tests pass image-node.ts's).
 */
import { FileError } from '../fileError.ts';
import { errorMessage } from '../format.ts';
import type { Entry, FileEntry } from '@zip.js/zip.js/index-native.js';
import { decodeImageBlob } from './image.ts';
import { type ImageDecoder, isIgnoredPath, loadUserData, type UserData, type UserDataOptions, type UserFile } from './userData.ts';
import { shardTrainingData } from './shardData.ts';

/** A file with its path relative to what was dropped. */
export interface PathedBlob {
  path: string;
  blob: Blob;
}

/**
 * `decode` defaults to the browser's decoders, `name` to the dropped folder's or the zip's name; `maxEntryBytes`
 * (zips only) to MAX_ZIP_ENTRY_BYTES.
 */
export type BrowserUserDataOptions = Omit<UserDataOptions, 'decode' | 'name'> & Partial<Pick<UserDataOptions, 'decode' | 'name'>> & { maxEntryBytes?: number };

/** The most one zip entry may inflate to: a photo or a captions file is far smaller, a zip bomb's entry is not. */
export const MAX_ZIP_ENTRY_BYTES = 256 * 2 ** 20;

const decodeInBrowser: ImageDecoder = (blob, _path, shortSide) => decodeImageBlob(blob, shortSide);

/**
 * The files of a drop, folders walked recursively. Call it from the drop handler itself: the entries must be
 * taken while the event is dispatched (this happens before the first await), their contents are read later.
 */
export function droppedFiles(dataTransfer: DataTransfer): Promise<PathedBlob[]> {
  const entries = Array.from(dataTransfer.items, (item) => item.webkitGetAsEntry()).filter((entry) => entry !== null);
  return filesUnder(entries);
}

async function filesUnder(entries: FileSystemEntry[]): Promise<PathedBlob[]> {
  const files = await Promise.all(
    entries
      .filter((entry) => !isIgnoredPath(entry.fullPath))
      .map(async (entry): Promise<PathedBlob[]> => {
        if (entry.isDirectory) return filesUnder(await directoryEntries(entry as FileSystemDirectoryEntry));
        const blob = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
        return [{ path: entry.fullPath.replace(/^\/+/, ''), blob }];
      }),
  );
  return files.flat();
}

/** `readEntries` answers in batches (100 at a time in Chrome) until it answers an empty one. */
async function directoryEntries(directory: FileSystemDirectoryEntry): Promise<FileSystemEntry[]> {
  const reader = directory.createReader();
  const entries: FileSystemEntry[] = [];
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) return entries;
    entries.push(...batch);
  }
}

/**
 * A dropped or chosen set of files: `File`s named by their `webkitRelativePath` (a directory input) or their
 * name, or the paths `droppedFiles` found. A single .zip is read as a zip; .tar files alone as webdataset shards,
 * in the order of their names.
 */
export function userDataFromFiles(files: FileList | readonly (File | PathedBlob)[], options: BrowserUserDataOptions): Promise<UserData> {
  const list = Array.from(files, (file): PathedBlob => (file instanceof Blob ? { path: file.webkitRelativePath || file.name, blob: file } : file));
  const only = list.length === 1 ? list[0]! : null;
  if (only?.path.toLowerCase().endsWith('.zip')) return userDataFromZip(only.blob, { ...options, name: options.name ?? only.path });
  const name = options.name ?? nameOfFiles(list);
  const decode = options.decode ?? decodeInBrowser;
  if (list.length > 0 && list.every(({ path }) => path.toLowerCase().endsWith('.tar'))) {
    const shards = list.map(({ path, blob }) => ({ name: path, blob })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return shardTrainingData(shards, { ...options, decode, name });
  }
  const userFiles: UserFile[] = list.map(({ path, blob }) => ({ path, read: async () => blob }));
  return loadUserData(userFiles, { ...options, decode, name });
}

/** What the user chose, in a few words: the folder every path starts with, the one file, or how many files. */
export function nameOfFiles(files: readonly PathedBlob[]): string {
  const top = files[0]?.path.split('/')[0];
  if (top !== undefined && files.every((file) => file.path.startsWith(`${top}/`))) return top;
  return files.length === 1 ? files[0]!.path : `${files.length} files`;
}

export async function userDataFromZip(zip: Blob, options: BrowserUserDataOptions): Promise<UserData> {
  const name = options.name ?? (zip instanceof File ? zip.name : 'the zip archive');
  return withZipFiles(zip, name, options.maxEntryBytes, (files) => loadUserData(files, { ...options, decode: options.decode ?? decodeInBrowser, name }));
}

/**
 * Runs `use` on the files of a zip (`name` names it in errors), each entry inflated only when read, at most
 * `maxEntryBytes` (MAX_ZIP_ENTRY_BYTES) each; the archive is closed when `use` is done.
 */
export async function withZipFiles<T>(zip: Blob, name: string, maxEntryBytes: number | undefined, use: (files: UserFile[]) => Promise<T>): Promise<T> {
  // Loaded on first use: zip.js is most of this module's weight, and most users drop folders.
  const { BlobReader, ZipReader } = await import('@zip.js/zip.js/index-native.js');
  // Paths are only keys here, never written to a disk: any entry name is acceptable. No zip.js workers: the
  // native DecompressionStream inflates, and this may already run in the training worker.
  const reader = new ZipReader(new BlobReader(zip), { useWebWorkers: false, filenameValidation: 'tolerant' });
  let entries: Entry[];
  try {
    entries = await reader.getEntries();
  } catch (e) {
    throw new FileError(name, `${name} is not a readable zip archive (${errorMessage(e)}).`);
  }
  try {
    const files: UserFile[] = entries
      .filter((entry): entry is FileEntry => !entry.directory)
      .map((entry) => ({
        path: entry.filename,
        read: () => inflate(entry, maxEntryBytes ?? MAX_ZIP_ENTRY_BYTES),
      }));
    return await use(files);
  } finally {
    await reader.close();
  }
}

/**
 * An entry's contents as a File (so that decoders can name it in their errors). The bytes are counted as they
 * inflate, whatever sizes the archive declares: a bomb stops at `limit`, not when memory runs out.
 */
async function inflate(entry: FileEntry, limit: number): Promise<File> {
  const name = entry.filename.slice(entry.filename.lastIndexOf('/') + 1);
  const chunks: Uint8Array<ArrayBuffer>[] = [];
  let size = 0;
  const sink = new WritableStream<Uint8Array<ArrayBuffer>>({
    write(chunk) {
      size += chunk.byteLength;
      if (size > limit) throw new FileError(name, `${name}: inflates to more than the ${Math.round(limit / 2 ** 20)} MiB a file in a zip may have here`);
      chunks.push(chunk);
    },
  });
  try {
    await entry.getData(sink);
  } catch (error) {
    if (error instanceof FileError) throw error;
    throw new FileError(name, `${name}: cannot be inflated from the zip archive (${errorMessage(error)})`, { cause: error });
  }
  return new File(chunks, name);
}
