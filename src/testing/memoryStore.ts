/**
 * The checkpoint store in memory, for Node and tests: the same store logic as the browser's (opfs.ts) over an
 * in-memory directory that behaves as OPFS does where the store relies on it: a file created by getFileHandle
 * starts empty, a writable's bytes become the file's content only on close, move() replaces the target,
 * missing entries reject with a NotFoundError.
 */
import { type CheckpointStore, directoryStore, type StoreDirectory, type StoreFileHandle } from '../checkpoint/opfs.ts';

export interface MemoryDirectory extends StoreDirectory {
  /** Every file, unfinished writes included: what a crash would leave behind. */
  readonly files: ReadonlyMap<string, File>;
}

const notFound = (name: string) => new DOMException(`${name} does not exist`, 'NotFoundError');

/** `move: false` stands for browsers without FileSystemHandle.move(), where the store copies instead. */
export function memoryDirectory(options: { move?: boolean; now?: () => number } = {}): MemoryDirectory {
  const files = new Map<string, File>();
  const now = options.now ?? Date.now;
  const put = (name: string, parts: BlobPart[]) => files.set(name, new File(parts, name, { lastModified: now() }));

  function handle(initialName: string): StoreFileHandle {
    let name = initialName;
    const fileHandle: StoreFileHandle = {
      async getFile() {
        const f = files.get(name);
        if (!f) throw notFound(name);
        return f;
      },
      async createWritable() {
        if (!files.has(name)) throw notFound(name);
        const chunks: Uint8Array[] = [];
        return new WritableStream<Uint8Array>({
          write: (chunk) => void chunks.push(chunk.slice()),
          close: () => void put(name, chunks as BlobPart[]),
          abort: () => void chunks.splice(0),
        });
      },
    };
    if (options.move ?? true) {
      fileHandle.move = async (to) => {
        const f = files.get(name);
        if (!f) throw notFound(name);
        files.delete(name);
        files.set(to, new File([f], to, { lastModified: f.lastModified }));
        name = to;
      };
    }
    return fileHandle;
  }

  return {
    files,
    async getFileHandle(name, { create = false } = {}) {
      if (!files.has(name)) {
        if (!create) throw notFound(name);
        put(name, []);
      }
      return handle(name);
    },
    async removeEntry(name) {
      if (!files.delete(name)) throw notFound(name);
    },
    async *values() {
      for (const name of [...files.keys()]) yield { kind: 'file' as const, name };
    },
  };
}

export function memoryStore(): CheckpointStore {
  return directoryStore(memoryDirectory());
}
