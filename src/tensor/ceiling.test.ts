import { describe, expect, it } from 'vitest';
import { setupTestGpu } from '../testing/gpu.ts';
import { ceilingFlops, chainSums, measureCeiling } from './ceiling.ts';

setupTestGpu();

/** Invocation i's six chains, eight steps an iteration, in float64 rounded to float32 after each step (a fused multiply-add rounds once). */
function expectedSum(i: number, iterations: number): number {
  const x = Math.fround((i & 1023) * 1e-6);
  const m = Math.fround(0.999 + x);
  const c = Math.fround(1e-3);
  let sum = 0;
  for (const start of [0, 0.1, 0.2, 0.3, 0.4, 0.5]) {
    let a = Math.fround(x + start);
    for (let k = 0; k < 8 * iterations; k++) a = Math.fround(a * m + c);
    sum += a;
  }
  return sum;
}

describe('arithmetic ceiling', () => {
  it('runs the fma chains it counts: every invocation stores the sum of its six chains', async () => {
    const iterations = 7;
    const sums = await chainSums(iterations);
    expect(sums.length).toBe(4 * 4096 * 64);
    for (const i of [0, 1, 63, 64, 1023, 1024, 5000, 262143]) {
      const want = expectedSum(i, iterations);
      for (let lane = 0; lane < 4; lane++) expect(sums[4 * i + lane]).toBeCloseTo(want, 5);
    }
  });

  it('counts 384 FLOPs an invocation per iteration and sizes the work by doubling the iterations', async () => {
    expect(ceilingFlops(1)).toBe(262144 * 384);
    const ceiling = await measureCeiling({ minMs: 1, reps: 3 });
    expect(Math.log2(ceiling.iterations) % 1).toBe(0);
    expect(ceiling.iterations).toBeGreaterThanOrEqual(16);
    expect(ceiling.gflops).toBeCloseTo(ceilingFlops(ceiling.iterations) / ceiling.medianMs / 1e6, 6);
  });
});
