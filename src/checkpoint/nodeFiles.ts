/** Node's side of ByteSource and ByteSink: a file read and written through an fs.promises FileHandle. */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { checkRange, type ByteSource } from './byteSource.ts';
import type { ByteSink } from './byteSink.ts';

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
        if (bytesRead === 0) throw new Error(`${name} is truncated: it ended at byte ${offset + done} while ${offset + length} were expected`);
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
