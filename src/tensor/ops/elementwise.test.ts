import { describe, it } from 'vitest';
import { expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { type Tensor, fromArray } from '../tensor.ts';
import { accumulateInto, add, addRows, affine, mul, mulRows, scaleBy } from './elementwise.ts';
import { mean, sum, sumAll, sumRows } from './reduce.ts';

const testGpu = setupTestGpu();

// Sums of up to a few hundred f32 products: PyTorch and we add in different orders, so ~1e-6 relative
// differences are expected; 1e-5 leaves room without hiding a wrong element (those are off by O(1)).
const TOL = { rtol: 1e-5, atol: 1e-6 };

type Forward = (a: Tensor, b: Tensor | null, attrs: Record<string, unknown>) => Tensor;

const FORWARD: Record<string, Forward> = {
  add: (a, b) => add(a, b!),
  mul: (a, b) => mul(a, b!),
  affine: (a, _b, at) => affine(a, at.scale as number, at.shift as number),
  scaleBy: (a, b) => scaleBy(a, b!),
  addRows: (a, b) => addRows(a, b!),
  mulRows: (a, b) => mulRows(a, b!),
  sum: (a, _b, at) => sum(a, at.axis as number),
  mean: (a, _b, at) => mean(a, at.axis as number),
};

describe('elementwise and reduce ops against PyTorch', () => {
  for (const c of loadFixture('elementwise')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const a = fixtureTensor(c, 'a', { requiresGrad: true });
        const b = c.tensors.b ? fixtureTensor(c, 'b', { requiresGrad: true }) : null;
        const out = FORWARD[c.attrs.op as string]!(a, b, c.attrs);
        await expectTensorClose(out, c.tensors.out!, TOL, 'forward');
        // Backpropagate the fixture's upstream gradient through sum(out * grad_out).
        backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
        await expectTensorClose(a.grad!, c.tensors.grad_a!, TOL, 'grad a');
        if (b) await expectTensorClose(b.grad!, c.tensors.grad_b!, TOL, 'grad b');
        a.dispose();
        b?.dispose();
      });
    });
  }
});

/** Multiples of 1/64 in [-8, 8): f32 sums of up to 2^18 of them are exact in any order. */
const dyadic = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => (((i * seed) % 1024) - 512) / 64);

// The flat kernels split their vec4s into blocks by adapter kind (a few large blocks on a CPU adapter, one round
// per workgroup on a GPU), and long sums go in passes of partial sums: over ~100,000 elements, with a partial last
// vec4, every element must be computed exactly once under both. f32 sums and products of f32 values are correctly
// rounded, so Math.fround gives the exact expected values.
for (const fallback of [true, false]) {
  describe(`elementwise and reduce over many blocks, ${fallback ? 'CPU' : 'GPU'} blocks`, () => {
    asFallbackAdapter(testGpu, fallback);
    const n = 100_003;
    const [av, bv] = [dyadic(n, 7919), dyadic(n, 104_729)];
    const expectExact = async (t: Tensor, f: (i: number) => number) => {
      const got = await t.read();
      expectClose(
        got,
        Float32Array.from({ length: got.length }, (_, i) => f(i)),
        { rtol: 0, atol: 0 },
        t.toString(),
      );
    };

    it('add, mul, affine, scaleBy and accumulateInto', async () => {
      await scopeAsync(async () => {
        const [a, b] = [fromArray(av, [n]), fromArray(bv, [n])];
        await expectExact(add(a, b), (i) => av[i]! + bv[i]!);
        await expectExact(mul(a, b), (i) => Math.fround(av[i]! * bv[i]!));
        await expectExact(affine(a, 0.5, 3), (i) => av[i]! * 0.5 + 3);
        await expectExact(scaleBy(a, fromArray([-2], [1])), (i) => av[i]! * -2);
        const target = fromArray(bv, [n]);
        accumulateInto(target, a, 4);
        await expectExact(target, (i) => bv[i]! + av[i]! * 4);
      });
    });

    for (const cols of [64, 7]) {
      it(`addRows and mulRows, rows of ${cols}`, async () => {
        await scopeAsync(async () => {
          const rows = Math.floor(n / cols);
          const a = fromArray(av.subarray(0, rows * cols), [rows, cols]);
          const row = fromArray(bv.subarray(0, cols), [cols]);
          await expectExact(addRows(a, row), (i) => av[i]! + bv[i % cols]!);
          await expectExact(mulRows(a, row), (i) => Math.fround(av[i]! * bv[i % cols]!));
        });
      });
    }

    it('sums and means over long axes', async () => {
      await scopeAsync(async () => {
        const [rows, cols] = [5000, 20];
        const a = fromArray(av.subarray(0, rows * cols), [rows, cols]);
        const columnSum = (c: number) => av.subarray(0, rows * cols).reduce((s, v, i) => (i % cols === c ? s + v : s), 0);
        await expectExact(sumRows(a, cols), columnSum);
        await expectExact(mean(a, 0), (c) => Math.fround(columnSum(c) * Math.fround(1 / rows)));
        await expectExact(sum(a, 1), (r) => av.subarray(r * cols, (r + 1) * cols).reduce((s, v) => s + v, 0));
        await expectExact(sumAll(fromArray(av, [n])), () => av.reduce((s, v) => s + v, 0));
      });
    });
  });
}
