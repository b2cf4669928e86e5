import { describe, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import type { Tensor } from '../tensor.ts';
import { add, addRows, affine, mul, mulRows, scaleBy } from './elementwise.ts';
import { mean, sum, sumAll } from './reduce.ts';

setupTestGpu();

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
