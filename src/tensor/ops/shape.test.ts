import { describe, expect, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray, type Tensor } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';
import { concat, slice, transpose } from './shape.ts';

setupTestGpu();

// Copies move 32-bit words unchanged, and every gradient element is one copied grad_out value or a zero.
const EXACT = { rtol: 0, atol: 0 };

type Forward = (inputs: Tensor[], attrs: Record<string, unknown>) => Tensor;

const FORWARD: Record<string, Forward> = {
  concat: (xs, at) => concat(xs, at.axis as number),
  slice: ([x], at) => slice(x!, at.axis as number, at.start as number, at.end as number),
  transpose: ([x]) => transpose(x!),
};

const inputNames = (tensors: Record<string, unknown>) =>
  Object.keys(tensors)
    .filter((k) => /^a\d+$/.test(k))
    .sort();

describe('concat, slice and transpose against PyTorch', () => {
  for (const c of loadFixture('layout')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const dtype = c.attrs.dtype === 'i32' ? 'i32' : 'f32';
        const names = inputNames(c.tensors);
        const inputs = names.map((n) => fixtureTensor(c, n, { requiresGrad: dtype === 'f32', dtype }));
        const out = FORWARD[c.attrs.op as string]!(inputs, c.attrs);
        await expectTensorClose(out, c.tensors.out!, EXACT, 'forward');
        if (dtype === 'i32') return;
        backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
        for (const [i, x] of inputs.entries()) {
          await expectTensorClose(x.grad!, c.tensors[`grad_${names[i]}`]!, EXACT, `grad ${names[i]}`);
          x.dispose();
        }
      });
    });
  }

  it('rejects mismatched shapes and ranges', async () => {
    await scopeAsync(async () => {
      const a = fromArray(new Float32Array(7), [1, 7]);
      expect(() => concat([a, transpose(a)], 0)).toThrow(/cannot join/);
      expect(() => slice(a, 1, 3, 8)).toThrow(/does not fit/);
      expect(() => slice(a, 2, 0, 1)).toThrow(/out of range/);
    });
  });
});
