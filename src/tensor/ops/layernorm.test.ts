import { describe, expect, it } from 'vitest';
import { expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { noGrad } from '../engine.ts';
import { scope, scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { layerNorm } from './layernorm.ts';
import { sumAll } from './reduce.ts';

const testGpu = setupTestGpu();

// The references are exact (float64) values. Our outputs come from a mean and a variance summed over up to 3072
// f32 terms, then scaled: errors are a few ulps of the O(1)..O(10) values (worst measured 1e-6), absolute near 0.
const FORWARD_TOL = { rtol: 1e-5, atol: 1e-5 };
// dx subtracts two row means from g * w, and dweight/dbias add up to 195 rows: the error is a few ulps of the
// largest terms (worst measured 3.8e-6 on a gradient of 33), so absolute where cancellation leaves small values.
const GRAD_TOL = { rtol: 1e-5, atol: 1e-5 };

// rowGroup() gives each row 4 invocations on this CPU adapter and 64 on a GPU: the fixtures run under both.
for (const fallback of [true, false]) {
  describe(`layerNorm against PyTorch, ${fallback ? 'CPU' : 'GPU'} row workgroups`, () => {
    asFallbackAdapter(testGpu, fallback);
    for (const c of loadFixture('layernorm')) {
      it(c.name, async () => {
        await scopeAsync(async () => {
          const x = fixtureTensor(c, 'x', { requiresGrad: true });
          const weight = fixtureTensor(c, 'weight', { requiresGrad: true });
          const bias = fixtureTensor(c, 'bias', { requiresGrad: true });
          const out = layerNorm(x, weight, bias, c.attrs.eps as number);
          await expectTensorClose(out, c.tensors.out!, FORWARD_TOL, 'forward');
          backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
          await expectTensorClose(x.grad!, c.tensors.grad_x!, GRAD_TOL, 'grad x');
          await expectTensorClose(weight.grad!, c.tensors.grad_weight!, GRAD_TOL, 'grad weight');
          await expectTensorClose(bias.grad!, c.tensors.grad_bias!, GRAD_TOL, 'grad bias');
          for (const t of [x, weight, bias]) t.dispose();
        });
      });
    }
  });
}

describe('layerNorm', () => {
  it('normalizes more rows than one grid dimension holds', async () => {
    // 70,000 rows [v, -v] split over two grid rows by grid1d: mean 0, variance v^2, so y = [v, -v] / sqrt(v^2 + eps).
    const rows = 70_000;
    const values = Array.from({ length: rows }, (_, i) => (i % 7) - 3);
    await scopeAsync(async () => {
      const x = fromArray(
        values.flatMap((v) => [v, -v]),
        [rows, 2],
      );
      const out = layerNorm(x, fromArray([1, 1], [2]), fromArray([0, 0], [2]));
      const expected = values.flatMap((v) => [v / Math.sqrt(v * v + 1e-5), -v / Math.sqrt(v * v + 1e-5)]);
      // One subtraction and one inverseSqrt (2 ulps) per element.
      expectClose(await out.read(), expected, { rtol: 1e-6, atol: 1e-7 }, 'forward');
    });
  });

  it('computes only the gradients that are needed', async () => {
    const c = loadFixture('layernorm')[1]!;
    await scopeAsync(async () => {
      const x = fixtureTensor(c, 'x');
      const weight = fixtureTensor(c, 'weight', { requiresGrad: true });
      const bias = fixtureTensor(c, 'bias');
      backward(sumAll(mul(layerNorm(x, weight, bias), fixtureTensor(c, 'grad_out'))));
      expect(x.grad).toBeNull();
      expect(bias.grad).toBeNull();
      await expectTensorClose(weight.grad!, c.tensors.grad_weight!, GRAD_TOL, 'grad weight');
      weight.dispose();
    });
  });

  it('records nothing and keeps no row statistics under noGrad', () => {
    const c = loadFixture('layernorm')[1]!;
    scope(() => {
      const [x, weight, bias] = ['x', 'weight', 'bias'].map((n) => fixtureTensor(c, n, { requiresGrad: true }));
      const liveBefore = testGpu().memory().liveBuffers;
      const out = noGrad(() => layerNorm(x!, weight!, bias!));
      expect(out.node).toBeNull();
      expect(testGpu().memory().liveBuffers).toBe(liveBefore + 1);
    });
  });
});
