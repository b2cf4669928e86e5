import { describe, expect, it } from 'vitest';
import { setupTestGpu } from '../testing/gpu.ts';
import { noGrad } from './engine.ts';
import { attention } from './ops/attention.ts';
import { crossEntropy } from './ops/crossEntropy.ts';
import { add, mul, affine } from './ops/elementwise.ts';
import { layerNorm } from './ops/layernorm.ts';
import { matmul } from './ops/matmul.ts';
import { l2Normalize } from './ops/normalize.ts';
import { sumAll } from './ops/reduce.ts';
import { reshape } from './ops/shape.ts';
import { scope, scopeAsync } from './scope.ts';
import { backward, gradients } from './tape.ts';
import { fromArray, parameter, type Tensor } from './tensor.ts';

const gpu = setupTestGpu();

const values = async (t: Tensor) => Array.from(await t.read());

describe('autograd tape', () => {
  it('accumulates the gradient of a tensor used twice', async () => {
    const x = parameter([1, -2, 3], [3]);
    await scopeAsync(async () => {
      // y = sum(x * x + 3x) -> dy/dx = 2x + 3
      backward(sumAll(add(mul(x, x), affine(x, 3))));
    });
    expect(await values(x.grad!)).toEqual([5, -1, 9]);
    x.dispose();
  });

  it('adds into .grad across backward calls, as PyTorch does', async () => {
    const x = parameter([2, 4], [2]);
    for (let i = 0; i < 3; i++) scope(() => backward(sumAll(affine(x, 0.5))));
    expect(await values(x.grad!)).toEqual([1.5, 1.5]);
    x.dispose();
  });

  it("takes a leaf's first gradient as its .grad only where nothing else reads that gradient", async () => {
    const [x, z] = [parameter([1, 2], [2]), parameter([3, 4], [2])];
    // add hands the same output gradient to both inputs: each leaf must get its own copy.
    scope(() => backward(sumAll(add(x, z))));
    expect(x.grad).not.toBe(z.grad);
    scope(() => backward(sumAll(affine(x, 2))));
    expect(await values(x.grad!)).toEqual([3, 3]);
    expect(await values(z.grad!)).toEqual([1, 1]);
    // z already has a gradient: mul's is added into it.
    scope(() => backward(sumAll(mul(z, fromArray([5, 6], [2])))));
    expect(await values(z.grad!)).toEqual([6, 7]);
    for (const t of [x, z]) t.dispose();
  });

  it('frees the scratch an op saved for backward when it records nothing (ops with saved tensors)', () => {
    const x = fromArray(
      Float32Array.from({ length: 24 }, (_, i) => Math.sin(i)),
      [2, 3, 4],
    );
    const ones = fromArray(new Float32Array(4).fill(1), [4]);
    const zeros = fromArray(new Float32Array(4), [4]);
    const targets = fromArray(Int32Array.from([0, 2, 1, 3, 0, 1]), [6], 'i32');
    const live = () => gpu().memory().liveBuffers;
    const before = live();
    const outputs = noGrad(() => [layerNorm(x, ones, zeros), l2Normalize(x), crossEntropy(reshape(x, [6, 4]), targets), attention(x, x, x, { heads: 1 }).out]);
    // Only the outputs are left: the row statistics, norms, logsumexps and probabilities are gone.
    expect(live() - before).toBe(outputs.length);
    for (const t of [...outputs, x, ones, zeros, targets]) t.dispose();
  });

  it('gradients(): the gradient of an intermediate, again with the tape kept, without touching any .grad', async () => {
    const x = parameter([1, -2, 3], [3]);
    const w = parameter([0.5, 2, -1], [3]);
    await scopeAsync(async () => {
      // y = sum(h * w) with h = x * x: dy/dh = w, and dy/dx = 2 x w once backward runs.
      const h = mul(x, x);
      const y = sumAll(mul(h, w));
      for (const scale of [1, 3]) {
        const [dh, unused] = gradients(y, [h, fromArray([7], [1])], fromArray([scale], [1]));
        expect(await values(dh!)).toEqual([0.5 * scale, 2 * scale, -scale]);
        expect(await values(unused!)).toEqual([0]);
      }
      expect([x.grad, w.grad]).toEqual([null, null]);
      backward(y);
    });
    expect(await values(x.grad!)).toEqual([1, -8, -6]);
    x.dispose();
    w.dispose();
  });

  it('records nothing under noGrad', () => {
    const x = parameter([1, 2], [2]);
    scope(() => {
      const y = noGrad(() => mul(x, x));
      expect(y.node).toBeNull();
      expect(() => backward(sumAll(y))).toThrow(/does not require a gradient|not computed from anything/);
    });
    x.dispose();
  });

  it('backpropagates through a reshape view that shares storage', async () => {
    const x = parameter([1, 2, 3, 4, 5, 6], [2, 3]);
    await scopeAsync(async () => {
      const y = reshape(x, [3, 2]);
      expect(y.sameRange(x)).toBe(true);
      backward(sumAll(mul(y, fromArray([1, 2, 3, 4, 5, 6], [3, 2]))));
    });
    expect(await values(x.grad!)).toEqual([1, 2, 3, 4, 5, 6]);
    x.dispose();
  });

  it('keeps what a scope returns, with the tape it needs, and frees the rest', async () => {
    const x = parameter([1, 2, 3], [3]);
    const before = gpu().memory().liveBuffers;
    await scopeAsync(async () => {
      const y = scope(() => mul(affine(x, 2), x)); // inner intermediates must survive for backward
      backward(sumAll(y)); // d/dx 2x^2 = 4x
    });
    expect(await values(x.grad!)).toEqual([4, 8, 12]);
    expect(gpu().memory().liveBuffers).toBe(before + 1); // only x.grad is new
    x.dispose();
  });
  it('adds the gradient an input already holds where the backward rule takes it: split-K sums, plain products, biases, norms, intermediates', async () => {
    // Small integers: every sum is exact, so the order of the additions cannot show.
    const ints = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((i * 7 + seed * 3) % 9) - 4);
    const [x1, x2, c1, c2, v] = [ints(24, 1), ints(20, 2), ints(48, 3), ints(40, 4), ints(64, 5)];
    const w = parameter(ints(32, 6), [4, 8]);
    const bias = parameter(ints(8, 7), [8]);
    const [gain, shift] = [parameter(ints(8, 8), [8]), parameter(ints(8, 9), [8])];
    const step = () =>
      scope(() => {
        // W twice with a bias: the first product's weight gradient has K = 6 rows split in two (its sum adds the
        // held gradient), the second's is one range (an add); h, an intermediate, feeds two products.
        const h = matmul(fromArray(x1, [6, 4]), w, { bias, kSplit: 4 });
        const y2 = matmul(fromArray(x2, [5, 4]), w, { bias });
        const z = add(matmul(h, fromArray(v, [8, 8])), matmul(h, fromArray(v, [8, 8]), { transB: true }));
        const n = layerNorm(fromArray(c2, [5, 8]), gain, shift, 1e-5);
        backward(add(add(sumAll(mul(z, fromArray(c1, [6, 8]))), sumAll(mul(y2, fromArray(c2, [5, 8])))), sumAll(mul(n, n))));
      });
    step();
    const norms = [Array.from(await gain.grad!.read()), Array.from(await shift.grad!.read())];
    step();
    // Host products: a [m, k] x b [k, n], and the transpose of a [rows, cols].
    const mm = (a: number[], b: number[], m: number, k: number, n: number) =>
      Array.from({ length: m * n }, (_, i) =>
        Array.from({ length: k }, (_, j) => a[Math.floor(i / n) * k + j]! * b[j * n + (i % n)]!).reduce((p, q) => p + q, 0),
      );
    const tr = (a: number[], rows: number, cols: number) => Array.from({ length: rows * cols }, (_, i) => a[(i % rows) * cols + Math.floor(i / rows)]!);
    const colSums = (a: number[], cols: number) => Array.from({ length: cols }, (_, j) => a.filter((_, i) => i % cols === j).reduce((p, q) => p + q, 0));
    const plus = (a: number[], b: number[]) => a.map((x, i) => x + b[i]!);
    // dz = c1, so dh = c1 vᵀ + c1 v; dy2 = c2. dW = x1ᵀ dh + x2ᵀ c2 and db = colsums(dh) + colsums(c2), twice.
    const dh = plus(mm(c1, tr(v, 8, 8), 6, 8, 8), mm(c1, v, 6, 8, 8));
    const twice = (a: number[]) => a.map((g) => 2 * g);
    expect(await values(w.grad!)).toEqual(twice(plus(mm(tr(x1, 6, 4), dh, 4, 6, 8), mm(tr(x2, 5, 4), c2, 4, 5, 8))));
    expect(await values(bias.grad!)).toEqual(twice(plus(colSums(dh, 8), colSums(c2, 8))));
    // The norm's parameter gradients, summed with the ones held from the first step: exactly double.
    expect(await values(gain.grad!)).toEqual(twice(norms[0]!));
    expect(await values(shift.grad!)).toEqual(twice(norms[1]!));
    expect(norms[0]!.some((g) => g !== 0) && norms[1]!.some((g) => g !== 0)).toBe(true);
    for (const p of [w, bias, gain, shift]) p.dispose();
  });
});
