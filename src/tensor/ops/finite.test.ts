import { describe, expect, it } from 'vitest';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { fromArray } from '../tensor.ts';
import { nonFiniteCounts } from './finite.ts';

const testGpu = setupTestGpu();

/** Values with NaN and infinities at chosen places, counted on the host as numpy's ~isfinite would. */
function poisoned(size: number, at: readonly number[]): { data: Float32Array; expected: number } {
  const data = Float32Array.from({ length: size }, (_, i) => Math.sin(i) * 1e30);
  const specials = [Number.NaN, Infinity, -Infinity];
  for (const [k, i] of at.entries()) data[i] = specials[k % 3]!;
  return { data, expected: data.filter((v) => !Number.isFinite(v)).length };
}

for (const fallback of [true, false]) {
  describe(`nonFiniteCounts (${fallback ? 'CPU' : 'GPU'} adapter's workgroups)`, () => {
    asFallbackAdapter(testGpu, fallback);

    it("counts each tensor's NaN and infinities in its own slot, across block edges and dispatches of seven, and leaves huge finite values alone", async () => {
      const cases = [
        poisoned(1, []),
        poisoned(3, [2]),
        poisoned(255, [0, 254]),
        poisoned(256 * 9 + 7, [255, 256, 256 * 9 + 6, 1000, 1001]),
        poisoned(70_000, [69_999]),
        poisoned(5, [0, 1, 2, 3, 4]),
        poisoned(4, [3]),
        poisoned(9, [8]),
        poisoned(1000, []),
        poisoned(300_001, [0, 150_000, 300_000]),
      ];
      const tensors = cases.map((c) => fromArray(c.data, [c.data.length]));
      const counts = nonFiniteCounts(tensors);
      expect(Array.from(await counts.read())).toEqual(cases.map((c) => c.expected));
      expect(cases.map((c) => c.expected)).toEqual([0, 1, 2, 5, 1, 5, 1, 1, 0, 3]);
      for (const t of [...tensors, counts]) t.dispose();
    });

    it('does not count what lies in the buffer past the last element', async () => {
      const stale = fromArray(new Float32Array(8).fill(Number.NaN), [8]);
      const buffer = stale.range.buffer;
      stale.dispose();
      const t = fromArray([1, 2, 3, 4, 5], [5]);
      expect(t.range.buffer).toBe(buffer); // the pool handed the NaN-filled buffer back: its last three lanes hold NaN
      const counts = nonFiniteCounts([t]);
      expect(Array.from(await counts.read())).toEqual([0]);
      for (const x of [t, counts]) x.dispose();
    });
  });
}
