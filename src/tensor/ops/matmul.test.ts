import { describe, expect, it } from 'vitest';
import { assumedChoice } from '../../gpu/kernelChoice.ts';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { linear, matmul } from './matmul.ts';
import { sumAll } from './reduce.ts';

const testGpu = setupTestGpu();

// Every value is a dot product of up to 300 (K, or the batch rows a gradient sums over) float32 products of
// N(0, 1) numbers. PyTorch and the kernel add in different orders; each order's rounding error is a random
// walk of about sqrt(K) * 6e-8 times the terms' size, so a few 1e-6 relative to the result's size of ~sqrt(K).
// rtol 1e-4 leaves a wide margin on that, and atol 1e-5 covers results that cancel to near zero, whose error
// is absolute. An element read from the wrong place, or a product left out, is off by O(1).
const TOL = { rtol: 1e-4, atol: 1e-5 };

// Every fixture runs on both kernels (the tiled one GPUs get, the subgroup one of CPU adapters, where the adapter
// has subgroups) and with K split into ranges of 8, which no fixture is large enough to get by itself: the
// ranges' partial sums, a last range with a K tail, and the bias added once. Each also runs with an addend (the
// fixture's grad_out, added to the product as it is stored or as the ranges are summed): the output is PyTorch's
// plus it, and its gradient is the output's.
for (const fallback of [false, true]) {
  for (const kSplit of [null, 8]) {
    for (const withAddend of [false, true]) {
      const how = `${fallback ? 'CPU' : 'GPU'} adapter, ${kSplit ? `K split by ${kSplit}` : 'K whole'}${withAddend ? ', with an addend' : ''}`;
      describe(`matmul and linear against PyTorch, ${how}`, () => {
        asFallbackAdapter(testGpu, fallback);
        for (const c of loadFixture('matmul')) {
          if (withAddend && c.attrs.op === 'linear' && c.tensors.a!.shape.length === 1) continue;
          it(c.name, async () => {
            await scopeAsync(async () => {
              const a = fixtureTensor(c, 'a', { requiresGrad: true });
              const b = fixtureTensor(c, 'b', { requiresGrad: true });
              const bias = c.tensors.bias ? fixtureTensor(c, 'bias', { requiresGrad: true }) : undefined;
              const addend = withAddend ? fixtureTensor(c, 'grad_out', { requiresGrad: true }) : undefined;
              // A split K is asked of matmul: linear is matmul with transB (a 1-D input, reshaped first, stays whole).
              const split = kSplit ?? undefined;
              const out =
                c.attrs.op === 'linear'
                  ? (split || addend) && a.shape.length > 1
                    ? matmul(a, b, { transB: true, bias, kSplit: split, addend })
                    : linear(a, b, bias)
                  : matmul(a, b, { transA: c.attrs.transA as boolean, transB: c.attrs.transB as boolean, bias, kSplit: split, addend });
              const expected = c.tensors.out!;
              const plusAddend = { ...expected, data: expected.data.map((v, i) => v + c.tensors.grad_out!.data[i]!) };
              await expectTensorClose(out, addend ? plusAddend : expected, TOL, 'forward');
              // Backpropagate the fixture's upstream gradient through sum(out * grad_out).
              backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
              await expectTensorClose(a.grad!, c.tensors.grad_a!, TOL, 'grad a');
              await expectTensorClose(b.grad!, c.tensors.grad_b!, TOL, 'grad b');
              if (bias) await expectTensorClose(bias.grad!, c.tensors.grad_bias!, TOL, 'grad bias');
              if (addend) await expectTensorClose(addend.grad!, c.tensors.grad_out!, TOL, 'grad addend');
              for (const t of [a, b, bias, addend]) t?.dispose();
            });
          });
        }
      });
    }
  }
}

describe('matmul kernel choice', () => {
  // Which kernel a product is dispatched to, for an adapter taken for a CPU or a GPU with subgroups of `lanes`:
  // recorded, not run, as the 8-lane kernels cannot run where subgroups have 4 (their results are checked above
  // where the adapter has 8, as lavapipe does: npm test's lavapipe stage).
  async function kernelsFor(fallback: boolean, lanes: number, widths: number[]): Promise<string[]> {
    const runtime = testGpu();
    const chosen: string[] = [];
    const { dispatch, kernels, adapter } = runtime;
    runtime.dispatch = (args) => {
      chosen.push(`${args.kernel.shader.name}: ${args.kernel.entry}`);
    };
    try {
      const faked = { ...adapter, isFallbackAdapter: fallback, subgroupMinSize: lanes, features: [...adapter.features, 'subgroups'] };
      Object.assign(runtime, { adapter: faked, kernels: assumedChoice(faked) });
      await scopeAsync(async () => {
        for (const n of widths) matmul(fromArray(new Float32Array(6), [2, 3]), fromArray(new Float32Array(3 * n), [3, n]));
      });
    } finally {
      Object.assign(runtime, { dispatch, kernels, adapter });
    }
    return chosen;
  }

  const subgroupKernel = (lanes: number, cols: number) => `matmul.wgsl + matmul_subgroups.wgsl, ${lanes} lanes x ${cols} columns: matmul_sg`;

  it('runs the subgroup kernel where the adapter is taken for a CPU with subgroups, the tiled one on a GPU', async () => {
    expect(await kernelsFor(false, 4, [4, 72])).toEqual(['matmul.wgsl: matmul', 'matmul.wgsl: matmul']);
    expect(await kernelsFor(true, 4, [4, 72, 512])).toEqual([4, 72, 512].map(() => subgroupKernel(4, 16)));
  });

  // npm test's lavapipe stage (scripts/test-lavapipe.ts) is there to run the 8-lane kernels on the fixtures above.
  it.runIf(process.env.COSMOS_TEST_DRIVER === 'lavapipe')('runs on lavapipe, whose subgroups have 8 lanes', () => {
    expect(testGpu().adapter.description).toMatch(/llvmpipe/);
    expect(testGpu().adapter.subgroupMinSize).toBe(8);
    expect(testGpu().kernels.matmul).toBe('subgroups');
  });

  it('gives 8 lanes their own kernels where subgroups have 8 lanes: a 64-wide tile below 256 columns, 128 from there', async () => {
    const narrow = subgroupKernel(8, 8);
    const wide = subgroupKernel(8, 16);
    expect(await kernelsFor(true, 8, [4, 64, 192, 255, 256, 512])).toEqual([narrow, narrow, narrow, narrow, wide, wide]);
    expect(await kernelsFor(true, 16, [64, 256])).toEqual([narrow, wide]);
  });
});

describe('matmul shapes', () => {
  it('rejects operands whose inner sizes differ', async () => {
    await scopeAsync(async () => {
      const a = fromArray(new Float32Array(6), [2, 3]);
      const b = fromArray(new Float32Array(8), [4, 2]);
      expect(() => matmul(a, b)).toThrow(/inner sizes 3 and 4 differ/);
      expect(() => matmul(a, b, { transA: true })).toThrow(/inner sizes 2 and 4 differ/);
    });
  });

  it('rejects batches of different shapes and a bias of the wrong size', async () => {
    await scopeAsync(async () => {
      const a = fromArray(new Float32Array(12), [2, 2, 3]);
      const b = fromArray(new Float32Array(18), [3, 3, 2]);
      expect(() => matmul(a, b)).toThrow(/batch shapes differ/);
      const w = fromArray(new Float32Array(6), [3, 2]);
      expect(() => matmul(a, w, { bias: fromArray([1, 2, 3], [3]) })).toThrow(/matmul bias/);
    });
  });
});
