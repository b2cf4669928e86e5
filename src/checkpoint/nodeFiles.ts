/**
 * Node's side of ByteSource, ByteSink and ModelFiles: a file read and written through an fs.promises FileHandle, and
 * a model's files as a path names them.
 */
import { FileError } from '../fileError.ts';
import { open, readdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { checkRange, type ByteSource } from './byteSource.ts';
import type { ByteSink } from './byteSink.ts';
import type { ModelFiles } from './modelFiles.ts';

export interface FileSource extends ByteSource {
  close(): Promise<void>;
}

export async function fileSource(path: string): Promise<FileSource> {
  const handle = await open(path, 'r');
  const { size } = await handle.stat();
  const name = basename(path);
  const source: FileSource = {
    size,
    name,
    async read(offset, length) {
      checkRange(source, offset, length);
      const bytes = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
        if (bytesRead === 0) throw new FileError(name, `${name} is truncated: it ended at byte ${offset + done} while ${offset + length} were expected`);
        done += bytesRead;
      }
      return bytes;
    },
    close: () => handle.close(),
  };
  return source;
}

/** Creates (or replaces) the file at `path`; chunks are written in order as they come. */
export async function fileSink(path: string): Promise<ByteSink> {
  const handle = await open(path, 'w');
  return {
    async write(chunk) {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
        done += bytesWritten;
      }
    },
    close: () => handle.close(),
  };
}

export interface NodeModelFiles extends ModelFiles {
  /** Closes every file opened. */
  close(): Promise<void>;
}

/**
 * A model's files from a path: a folder's files, or one weights file with the files beside it (where its config
 * may be, as open_clip_config.json or config.json).
 */
export async function nodeModelFiles(path: string): Promise<NodeModelFiles> {
  let folder: string;
  let chosen: string | null;
  try {
    const isFolder = (await stat(path)).isDirectory();
    folder = isFolder ? path : dirname(path);
    chosen = isFolder ? null : basename(path);
  } catch (error) {
    throw new FileError(path, `${path}: cannot open the checkpoint (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  const names = (await readdir(folder, { withFileTypes: true })).filter((e) => e.isFile() || e.isSymbolicLink()).map((e) => e.name);
  const opened: FileSource[] = [];
  return {
    name: path,
    names,
    chosen,
    async open(name) {
      const source = await fileSource(join(folder, name));
      opened.push(source);
      return source;
    },
    close: async () => {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}
