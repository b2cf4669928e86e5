import { describe, expect, it } from 'vitest';
import { setupTestGpu } from '../testing/gpu.ts';
import { countFlops } from './flops.ts';
import { attention } from './ops/attention.ts';
import { matmul } from './ops/matmul.ts';
import { gelu } from './ops/activation.ts';
import { sumAll } from './ops/reduce.ts';
import { scopeAsync } from './scope.ts';
import { backward } from './tape.ts';
import { fromArray, parameter } from './tensor.ts';

setupTestGpu();

const ones = (n: number) => new Float32Array(n).fill(1);

describe('countFlops', () => {
  it('counts a matmul forward as 2 M N K and its backward as 2 M N K per input that needs a gradient', async () => {
    const [m, k, n] = [5, 7, 3];
    await scopeAsync(async () => {
      const a = parameter(ones(m * k), [m, k]);
      const b = parameter(ones(k * n), [k, n]);
      const forward = await countFlops(async () => matmul(a, b));
      expect(forward.flops).toBe(2 * m * n * k);
      const both = await countFlops(async () => backward(sumAll(forward.value)));
      expect(both.flops).toBe(4 * m * n * k);
      // With b constant, forward then only dA = dC bᵀ.
      const constantB = fromArray(ones(k * n), [k, n]);
      const oneInput = await countFlops(async () => backward(sumAll(matmul(a, constantB))));
      expect(oneInput.flops).toBe(2 * m * n * k + 2 * m * n * k);
      for (const t of [a, b]) t.dispose();
    });
  });

  it('counts a batched matmul per batch item, and nothing for elementwise work', async () => {
    await scopeAsync(async () => {
      const a = fromArray(ones(3 * 4 * 8), [3, 4, 8]);
      const b = fromArray(ones(8 * 2), [8, 2]);
      const { flops } = await countFlops(async () => gelu(matmul(a, b)));
      expect(flops).toBe(2 * 3 * 4 * 2 * 8);
    });
  });

  it('counts attention as q kᵀ and p v forward (4 B H Tq Tk D) and four such products backward (8 B H Tq Tk D)', async () => {
    const [batch, heads, tq, tk, headDim] = [2, 2, 3, 5, 4];
    await scopeAsync(async () => {
      const q = parameter(ones(batch * tq * heads * headDim), [batch, tq, heads * headDim]);
      const k = parameter(ones(batch * tk * heads * headDim), [batch, tk, heads * headDim]);
      const v = parameter(ones(batch * tk * heads * headDim), [batch, tk, heads * headDim]);
      const unit = batch * heads * tq * tk * headDim;
      const forward = await countFlops(async () => attention(q, k, v, { heads }).out);
      expect(forward.flops).toBe(4 * unit);
      const back = await countFlops(async () => backward(sumAll(forward.value)));
      expect(back.flops).toBe(8 * unit);
      for (const t of [q, k, v]) t.dispose();
    });
  });

  it('counts nothing outside countFlops, and an inner count adds to the outer one', async () => {
    await scopeAsync(async () => {
      const a = fromArray(ones(4), [2, 2]);
      matmul(a, a); // not counted anywhere
      const outer = await countFlops(async () => {
        matmul(a, a);
        const inner = await countFlops(async () => matmul(a, a));
        expect(inner.flops).toBe(16);
      });
      expect(outer.flops).toBe(32);
    });
  });
});
