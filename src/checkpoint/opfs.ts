/**
 * Where the app keeps checkpoints in the browser: a folder of the origin private file system (OPFS). Writes stream
 * through `createWritable()` into a temporary name and are moved under the real name only once complete, so a
 * crash or a closed tab mid-save leaves the previous checkpoint of that name intact, never a half-written one.
 */
import type { ByteSink } from './byteSink.ts';
import { blobSource, type ByteSource } from './byteSource.ts';

export interface StoredCheckpoint {
  name: string;
  size: number;
  /** Milliseconds since the epoch. */
  modified: number;
}

export interface StoreSink extends ByteSink {
  /** Gives the write up (after an error): nothing appears under the name, the unfinished file is removed. */
  abort(): Promise<void>;
  /** Completes the file under its temporary name only; commit() then switches it in. close() does both. */
  finish(): Promise<void>;
  commit(): Promise<void>;
}

export interface CheckpointStore {
  /** Complete checkpoints only, by name. */
  list(): Promise<StoredCheckpoint[]>;
  /**
   * The bytes appear under `name` when the sink is closed, replacing any file of that name; not before. After a
   * failed write, abort the sink (saveCheckpoint does): an abandoned one keeps its temporary file open.
   */
  sink(name: string): Promise<StoreSink>;
  source(name: string): Promise<ByteSource>;
  /** The stored file itself, read from disk as it is used: what a download hands the browser. */
  file(name: string): Promise<File>;
  /** Removes the checkpoint (and any unfinished write of it); nothing to remove is not an error. */
  remove(name: string): Promise<void>;
}

/**
 * The parts of the File System API the store uses. A FileSystemDirectoryHandle has them (the async iteration
 * is in TypeScript's DOM.AsyncIterable lib, which this project does not load); memoryDirectory() has them too.
 */
export interface StoreDirectory {
  getFileHandle(name: string, options?: { create?: boolean }): Promise<StoreFileHandle>;
  removeEntry(name: string): Promise<void>;
  values(): AsyncIterable<{ readonly kind: 'file' | 'directory'; readonly name: string }>;
}

export interface StoreFileHandle {
  getFile(): Promise<File>;
  /** Per the File System standard, what is written becomes the file's content only when the stream closes. */
  createWritable(): Promise<WritableStream<Uint8Array>>;
  /** Renames within its folder, replacing a file of that name; not in every browser. */
  move?(name: string): Promise<void>;
}

/** Unfinished writes live under this suffix, which no checkpoint name may end with. */
export const PARTIAL_SUFFIX = '.partial';

function checkName(name: string): void {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name) || name.endsWith(PARTIAL_SUFFIX)) {
    throw new Error(`${JSON.stringify(name)} cannot name a checkpoint: use a file name without slashes, not ending in ${PARTIAL_SUFFIX}`);
  }
}

const isNotFound = (error: unknown): boolean => (error as { name?: string } | null)?.name === 'NotFoundError';

async function removeIfPresent(dir: StoreDirectory, name: string): Promise<void> {
  try {
    await dir.removeEntry(name);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/** Moves the finished temporary file under its real name: a rename where the browser has one, else a streamed copy. */
async function commit(dir: StoreDirectory, temp: StoreFileHandle, tempName: string, name: string): Promise<void> {
  if (temp.move) return temp.move(name);
  const target = await dir.getFileHandle(name, { create: true });
  // The copy, too, becomes the file's content only when it completes (pipeTo closes the writable at the end).
  await (await temp.getFile()).stream().pipeTo(await target.createWritable());
  await dir.removeEntry(tempName);
}

/** A checkpoint store over one directory: OPFS's in the browser (opfsStore), memoryDirectory() in tests. */
export function directoryStore(dir: StoreDirectory): CheckpointStore {
  const file = async (name: string): Promise<File> => {
    checkName(name);
    try {
      return await (await dir.getFileHandle(name)).getFile();
    } catch (error) {
      if (isNotFound(error)) throw new Error(`no checkpoint named ${JSON.stringify(name)} is stored`, { cause: error });
      throw error;
    }
  };
  return {
    async list() {
      const names: string[] = [];
      for await (const entry of dir.values()) {
        if (entry.kind === 'file' && !entry.name.endsWith(PARTIAL_SUFFIX)) names.push(entry.name);
      }
      names.sort();
      return Promise.all(
        names.map(async (name) => {
          const f = await file(name);
          return { name, size: f.size, modified: f.lastModified };
        }),
      );
    },
    async sink(name) {
      checkName(name);
      const tempName = name + PARTIAL_SUFFIX;
      const temp = await dir.getFileHandle(tempName, { create: true });
      const writer = (await temp.createWritable()).getWriter();
      return {
        // The stream may keep the chunk until it is consumed, and callers may reuse their arrays: hand it a copy.
        write: (chunk) => writer.write(chunk.slice()),
        finish: () => writer.close(),
        commit: () => commit(dir, temp, tempName, name),
        async close() {
          await writer.close();
          await commit(dir, temp, tempName, name);
        },
        async abort() {
          await writer.abort();
          await removeIfPresent(dir, tempName);
        },
      };
    },
    async source(name) {
      return blobSource(await file(name), name);
    },
    file,
    async remove(name) {
      checkName(name);
      await removeIfPresent(dir, name);
      await removeIfPresent(dir, name + PARTIAL_SUFFIX);
    },
  };
}

/** Writes one checkpoint into the store; when `write` fails, the sink is aborted and the error passed on. */
export async function saveCheckpoint(store: CheckpointStore, name: string, write: (sink: ByteSink) => Promise<void>): Promise<void> {
  const sink = await store.sink(name);
  try {
    await write(sink);
  } catch (error) {
    await sink.abort();
    throw error;
  }
}

/**
 * Writes several files that belong together (a checkpoint and its description), each to its temporary name, and
 * switches them in only once all are complete, one right after the other: a save cut off while writing leaves
 * every previous file in place. `write` gets a sink whose close() completes the file without switching it in.
 */
export async function saveTogether(files: readonly { store: CheckpointStore; name: string; write: (sink: ByteSink) => Promise<void> }[]): Promise<void> {
  const sinks: StoreSink[] = [];
  try {
    for (const { store, name, write } of files) {
      const sink = await store.sink(name);
      sinks.push(sink);
      await write({ write: (chunk) => sink.write(chunk), close: () => sink.finish() });
    }
  } catch (error) {
    for (const sink of sinks) await sink.abort().catch(() => undefined);
    throw error;
  }
  for (const sink of sinks) await sink.commit();
}

/** The browser's store: the folder `folder` of the origin private file system, created when missing. */
export async function opfsStore(folder = 'checkpoints'): Promise<CheckpointStore> {
  const root = await navigator.storage.getDirectory();
  const dir = await root.getDirectoryHandle(folder, { create: true });
  return directoryStore(dir as unknown as StoreDirectory);
}

/** One small text file (settings, not checkpoints): `read` gives null when it is missing, `write` replaces it whole. */
export interface TextFile {
  read(): Promise<string | null>;
  write(text: string): Promise<void>;
}

/** The text file `name` in the folder `dir()` opens (a write lands only when its stream closes). */
export function textFile(dir: () => Promise<StoreDirectory>, name: string): TextFile {
  return {
    read: async () => {
      try {
        return await (await (await dir()).getFileHandle(name)).getFile().then((f) => f.text());
      } catch (error) {
        if (isNotFound(error)) return null;
        throw error;
      }
    },
    write: async (text) => {
      const writable = await (await (await dir()).getFileHandle(name, { create: true })).createWritable();
      await new Blob([text]).stream().pipeTo(writable);
    },
  };
}

/** Where tuneKernels keeps this browser's measured kernel choices: settings/kernel-choice.json in the OPFS. */
export const browserChoiceStore = (): TextFile => opfsTextFile('settings', 'kernel-choice.json');

/** textFile in the folder `folder` of the origin private file system, created when missing. */
export function opfsTextFile(folder: string, name: string): TextFile {
  return textFile(async () => {
    const root = await navigator.storage.getDirectory();
    return (await root.getDirectoryHandle(folder, { create: true })) as unknown as StoreDirectory;
  }, name);
}
