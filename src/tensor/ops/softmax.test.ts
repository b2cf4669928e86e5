import { describe, it } from 'vitest';
import { expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray, type Tensor } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';
import { logSoftmax, softmax } from './softmax.ts';

const testGpu = setupTestGpu();

const OPS: Record<string, (x: Tensor) => Tensor> = { softmax, logSoftmax };

// References are exact (float64). Probabilities are exp of an f32 difference times 1/sum: a few ulps relative
// (worst measured 6e-7 where p > 1e-3); exp(x - max) also carries |x - max| * 2^-24 relative error from its
// argument's rounding, which only matters for probabilities far below atol. Log-probabilities (down to -1e9
// when masked) are a difference of O(|x|) terms: a few ulps of |x| (worst measured 3e-5 at -338).
const FORWARD_TOL = { rtol: 1e-5, atol: 1e-6 };
// Gradients subtract a row sum of O(1) terms (g - sum(g * y)): errors are absolute, a few ulps of that sum
// (worst measured 1.9e-6 on a log-softmax gradient of 10.5, within rtol).
const GRAD_TOL = { rtol: 1e-5, atol: 1e-6 };

// rowGroup() gives each row 4 invocations on this CPU adapter and 64 on a GPU: the fixtures run under both.
for (const fallback of [true, false]) {
  describe(`softmax and logSoftmax against PyTorch, ${fallback ? 'CPU' : 'GPU'} row workgroups`, () => {
    asFallbackAdapter(testGpu, fallback);
    for (const c of loadFixture('softmax')) {
      it(c.name, async () => {
        await scopeAsync(async () => {
          const x = fixtureTensor(c, 'x', { requiresGrad: true });
          const out = OPS[c.attrs.op as string]!(x);
          await expectTensorClose(out, c.tensors.out!, FORWARD_TOL, 'forward');
          backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
          await expectTensorClose(x.grad!, c.tensors.grad_x!, GRAD_TOL, 'grad x');
          x.dispose();
        });
      });
    }
  });
}

describe('softmax', () => {
  it('covers more rows than one grid dimension holds', async () => {
    // 70,000 rows [v, 0] split over two grid rows by grid1d: softmax is [sigmoid(v), sigmoid(-v)].
    const rows = 70_000;
    const values = Array.from({ length: rows }, (_, i) => (i % 11) - 5);
    await scopeAsync(async () => {
      const out = softmax(
        fromArray(
          values.flatMap((v) => [v, 0]),
          [rows, 2],
        ),
      );
      const expected = values.flatMap((v) => [1 / (1 + Math.exp(-v)), 1 / (1 + Math.exp(v))]);
      expectClose(await out.read(), expected, FORWARD_TOL, 'forward');
    });
  });
});
