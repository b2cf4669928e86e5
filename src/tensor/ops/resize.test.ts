import { describe, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { bicubicResize } from './resize.ts';

setupTestGpu();

// PyTorch's own f32 output is up to 2.1e-6 away from a float64 evaluation on these grids (values up to ~3.7):
// its cubic weights carry ~2e-7 of rounding each (see shaders/image.wgsl). Elsewhere a few ulp.
const FORWARD = { rtol: 1e-5, atol: 5e-6 };
// Each grid element sums up to ~50 such weighted gradients, in another order than PyTorch's scatter.
const BACKWARD = { rtol: 1e-5, atol: 1e-5 };

describe('bicubicResize against PyTorch F.interpolate(mode="bicubic")', () => {
  for (const c of loadFixture('resize')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const { outH, outW, scaleH, scaleW } = c.attrs as { outH: number; outW: number; scaleH?: number; scaleW?: number };
        const grid = fixtureTensor(c, 'grid', { requiresGrad: true });
        const out = bicubicResize(grid, outH, outW, { scaleH, scaleW });
        await expectTensorClose(out, c.tensors.out!, FORWARD, 'forward');
        backward(out, fixtureTensor(c, 'grad_out'));
        await expectTensorClose(grid.grad!, c.tensors.grad_grid!, BACKWARD, 'grad grid');
        grid.dispose();
      });
    });
  }
});
