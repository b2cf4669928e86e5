import { describe, expect, it } from 'vitest';
import type { ByteSink } from './byteSink.ts';
import type { ByteSource } from './byteSource.ts';
import { crc32 } from './crc32.ts';
import type { TensorSource } from './tensorRef.ts';
import { readTorchArchive } from './torchArchive.ts';
import { writeTorchCheckpoint } from './torchWriter.ts';
import { ZipReader } from './zipReader.ts';

/**
 * A sink that keeps references to the chunks it is given, not copies, and serves them back as a ByteSource:
 * a file of several GiB whose tensors all share one array costs the memory of that array.
 */
function referenceFile(): ByteSink & ByteSource {
  const pieces: { offset: number; bytes: Uint8Array }[] = [];
  let size = 0;
  return {
    name: 'big.pt',
    get size() {
      return size;
    },
    async write(chunk) {
      pieces.push({ offset: size, bytes: chunk });
      size += chunk.byteLength;
    },
    async close() {},
    async read(offset, length) {
      const out = new Uint8Array(length);
      for (const { offset: at, bytes } of pieces) {
        const from = Math.max(offset, at);
        const to = Math.min(offset + length, at + bytes.byteLength);
        if (from < to) out.set(bytes.subarray(from - at, to - at), from - offset);
      }
      return out;
    },
  };
}

describe('ZIP64: a checkpoint past 4 GiB', () => {
  it('is written streaming and read back, with 64-bit offsets', async () => {
    const elements = 64 << 20; // 256 MiB of float32
    const values = new Float32Array(elements);
    for (let i = 0; i < elements; i += 4099) values[i] = i;
    const count = 17; // 4.25 GiB in all
    const tensors = new Map<string, TensorSource>(
      Array.from({ length: count }, (_, i) => [`t${i}`, { shape: [elements / 1024, 1024], read: async () => values }]),
    );
    const file = referenceFile();
    const rssBefore = process.memoryUsage().rss;
    await writeTorchCheckpoint(tensors, file);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(1 << 30);
    expect(file.size).toBeGreaterThan(2 ** 32 + 2 ** 28);

    const zip = await ZipReader.open(file);
    const last = zip.entries.get(`archive/data/${count - 1}`)!;
    expect(last.localHeaderOffset).toBeGreaterThan(2 ** 32);
    expect(last.crc32).toBe(crc32(new Uint8Array(values.buffer)));
    const { tree } = await readTorchArchive(file);
    const t = (tree as Map<string, TensorSource & { storageKey: string }>).get(`t${count - 1}`)!;
    expect([t.shape, t.storageKey]).toEqual([[elements / 1024, 1024], String(count - 1)]);
    const tailBytes = await zip.read(last, last.size - 4 * 4099, 4 * 4099);
    expect(new Float32Array(tailBytes.buffer)).toEqual(values.subarray(elements - 4099));
  });
});
