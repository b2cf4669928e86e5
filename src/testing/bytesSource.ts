/** A ByteSource over bytes in memory: the tests' and the fuzz harness's files, made on the fly. */
import { type ByteSource, checkRange } from '../checkpoint/byteSource.ts';

/** Reads return copies: callers own what they get. */
export function bytesSource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  const source: ByteSource = {
    size: bytes.byteLength,
    name,
    async read(offset, length) {
      checkRange(source, offset, length);
      return bytes.slice(offset, offset + length);
    },
  };
  return source;
}
