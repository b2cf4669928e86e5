/**
 * Random access to the bytes of a checkpoint without holding the file: a browser `Blob`/`File` or a Node file
 * (nodeFiles.ts) sit behind the same two members (tests also read bytes in memory: src/testing/bytesSource.ts).
 */
import { FileError } from '../fileError.ts';

export interface ByteSource {
  readonly size: number;
  /** What error messages call the source (a file name where there is one). */
  readonly name: string;
  /** Exactly `length` bytes starting at `offset`; rejects when the source holds fewer. */
  read(offset: number, length: number): Promise<Uint8Array>;
}

export function checkRange(source: ByteSource, offset: number, length: number): void {
  if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0)) {
    throw new FileError(source.name, `${source.name}: cannot read ${length} bytes at offset ${offset}`);
  }
  if (offset + length > source.size) {
    throw new FileError(source.name, `${source.name} is truncated: a read needs bytes ${offset}..${offset + length} but the file has ${source.size} bytes`);
  }
}

/** A `Blob` or `File`: each read slices it, so only the bytes asked for are loaded. */
export function blobSource(blob: Blob, name = (blob as Partial<File>).name ?? 'blob'): ByteSource {
  const source: ByteSource = {
    size: blob.size,
    name,
    async read(offset, length) {
      checkRange(source, offset, length);
      const bytes = new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      if (bytes.byteLength !== length) throw new FileError(name, `${name}: read ${bytes.byteLength} of ${length} bytes at offset ${offset}`);
      return bytes;
    },
  };
  return source;
}
