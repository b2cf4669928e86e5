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

export interface MemoryDirectoryOptions {
  /** false stands for browsers without FileSystemHandle.move(), where the store copies instead. */
  move?: boolean;
  now?: () => number;
  /** What the directory holds to begin with (what a crash left, say). */
  files?: ReadonlyMap<string, File>;
  /** Called after each change: a chunk written, a file completed, moved or removed. A test snapshots `files` there. */
  onChange?: () => void;
  /** Bytes the directory may hold, unfinished writes included; a write past them fails as a browser's does. */
  quota?: number;
}

export function memoryDirectory(options: MemoryDirectoryOptions = {}): MemoryDirectory {
  const files = new Map<string, File>(options.files);
  const now = options.now ?? Date.now;
  const changed = options.onChange ?? (() => {});
  const put = (name: string, parts: BlobPart[]) => files.set(name, new File(parts, name, { lastModified: now() }));
  /** Bytes held by complete files and by the chunks of unfinished writes. */
  let pending = 0;
  const used = () => [...files.values()].reduce((n, f) => n + f.size, 0) + pending;

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
        const held = () => chunks.reduce((n, c) => n + c.length, 0);
        return new WritableStream<Uint8Array>({
          write: (chunk) => {
            if (options.quota !== undefined && used() + chunk.length > options.quota) {
              throw new DOMException(`writing ${chunk.length} bytes would pass the quota of ${options.quota}`, 'QuotaExceededError');
            }
            chunks.push(chunk.slice());
            pending += chunk.length;
            changed();
          },
          close: () => {
            pending -= held();
            put(name, chunks as BlobPart[]);
            changed();
          },
          abort: () => {
            pending -= held();
            chunks.splice(0);
          },
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
        changed();
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
      changed();
    },
    async *values() {
      for (const name of [...files.keys()]) yield { kind: 'file' as const, name };
    },
  };
}

export function memoryStore(): CheckpointStore {
  return directoryStore(memoryDirectory());
}
