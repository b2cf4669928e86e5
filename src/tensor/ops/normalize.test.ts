import { describe, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { l2Normalize } from './normalize.ts';

setupTestGpu();

// A sum of up to 512 squares, a square root and one division per element: a few float32 ulp apart from
// PyTorch's summation order. Relative, since rows under eps are scaled by 1e12 in value and gradient.
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('l2Normalize against PyTorch', () => {
  for (const c of loadFixture('losses').filter((k) => k.attrs.op === 'l2Normalize')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const x = fixtureTensor(c, 'x', { requiresGrad: true });
        const out = l2Normalize(x);
        await expectTensorClose(out, c.tensors.out!, TOL, 'forward');
        backward(out, fixtureTensor(c, 'grad_out'));
        await expectTensorClose(x.grad!, c.tensors.grad_x!, TOL, 'grad x');
        x.dispose();
      });
    });
  }
});
