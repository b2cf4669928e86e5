import { describe, expect, it } from 'vitest';
import { expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray, type Tensor } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';
import { concat, slice, transpose } from './shape.ts';

const testGpu = setupTestGpu();

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

// Runs whose lengths, strides and offsets are multiples of 4 words are copied as vec4s (none of the fixtures' are),
// in blocks that depend on the adapter kind: the attention heads' slices and concats of a [rows, 3 * 64] matrix,
// f32 and i32, each element where it belongs under both.
for (const fallback of [true, false]) {
  describe(`vec4 copies, ${fallback ? 'CPU' : 'GPU'} blocks`, () => {
    asFallbackAdapter(testGpu, fallback);
    for (const dtype of ['f32', 'i32'] as const) {
      it(`slices and concats of [3000, 192], ${dtype}`, async () => {
        const [rows, cols] = [3000, 192];
        const values = Array.from({ length: rows * cols }, (_, i) => i - 5000);
        await scopeAsync(async () => {
          const x = fromArray(values, [rows, cols], dtype);
          const columns = (start: number, end: number) => values.filter((_, i) => i % cols >= start && i % cols < end);
          const middle = slice(x, 1, 64, 128);
          expectClose(await middle.read(), columns(64, 128), EXACT, 'slice of columns');
          const tail = slice(x, 0, 1000, 3000);
          expectClose(await tail.read(), values.slice(1000 * cols), EXACT, 'slice of rows');
          const parts = [slice(x, 1, 0, 64), middle, slice(x, 1, 128, 192)];
          expectClose(await concat(parts, 1).read(), values, EXACT, 'concat of columns');
          expectClose(await concat([slice(x, 0, 0, 1000), tail], 0).read(), values, EXACT, 'concat of rows');
        });
      });
    }
  });
}
