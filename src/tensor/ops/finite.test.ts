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

    it("counts each tensor's NaN and infinities in its own slot, across block edges, and leaves huge finite values alone", async () => {
      const cases = [
        poisoned(1, []),
        poisoned(3, [2]),
        poisoned(255, [0, 254]),
        poisoned(256 * 9 + 7, [255, 256, 256 * 9 + 6, 1000, 1001]),
        poisoned(70_000, [69_999]),
      ];
      const tensors = cases.map((c) => fromArray(c.data, [c.data.length]));
      const counts = nonFiniteCounts(tensors);
      expect(Array.from(await counts.read())).toEqual(cases.map((c) => c.expected));
      expect(cases.map((c) => c.expected)).toEqual([0, 1, 2, 5, 1]);
      for (const t of [...tensors, counts]) t.dispose();
    });
  });
}
