import { describe, it } from 'vitest';
import { type Tolerance, expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { type Tensor, fromArray } from '../tensor.ts';
import { exp, gelu, quickGelu } from './activation.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';

const testGpu = setupTestGpu();

// References are exact (float64). Our erf fits are good to ~4e-7 relative where GELU is not tiny (worst measured
// 1.6e-6 where |y| > 1e-3). In the far negative tail the rounding of exp's argument -x^2/2 grows the relative
// error to ~1e-5 of values below 1e-9; atol 1e-12 admits that, yet still checks GELU(1e-30) = 5e-31 to 1e-5.
const GELU_TOL = { rtol: 1e-5, atol: 1e-12 };
// The derivative Phi(x) + x phi(x) cancels to zero near x = -0.75: a few ulps of its O(0.2) terms, absolutely.
const GELU_GRAD_TOL = { rtol: 1e-5, atol: 1e-7 };
// f32 exp carries |x| * 2^-24 relative error from its argument's rounding: 1.8e-6 at |x| = 30 (measured 1.7e-6).
const EXP_TOL = { rtol: 1e-5, atol: 0 };

const OPS: Record<string, { fn: (x: Tensor) => Tensor; tol: Tolerance; gradTol: Tolerance }> = {
  gelu: { fn: gelu, tol: GELU_TOL, gradTol: GELU_GRAD_TOL },
  exp: { fn: exp, tol: EXP_TOL, gradTol: EXP_TOL },
};

describe('gelu and exp against PyTorch', () => {
  for (const c of loadFixture('activation')) {
    it(c.name, async () => {
      const op = OPS[c.attrs.op as string]!;
      await scopeAsync(async () => {
        const x = fixtureTensor(c, 'x', { requiresGrad: true });
        const out = op.fn(x);
        await expectTensorClose(out, c.tensors.out!, op.tol, 'forward');
        backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
        await expectTensorClose(x.grad!, c.tensors.grad_x!, op.gradTol, 'grad x');
        x.dispose();
      });
    });
  }
});

// x * sigmoid(1.702 x) from one exp of a non-positive argument: a few ulps (worst measured 1.1e-6 relative for
// |x| < 10). Far out (x << 0) y's relative error is that of exp(-1.702 |x|), whose argument's rounding gives
// |1.702 x| * 2^-24: measured 5.1e-6 at x = -42.5. Below x = -51 y is under float32's normal range, 0 on the GPU:
// atol 1e-30. The derivative s (1 + 1.702 x (1 - s)) crosses zero near x = -1.28, where only an absolute bound of a
// few ulps of its O(1) terms makes sense (worst 2.4e-6 relative where |dx| > 1e-3).
const QUICK_GELU_TOL = { rtol: 1e-5, atol: 1e-30 };
const QUICK_GELU_GRAD_TOL = { rtol: 1e-5, atol: 1e-7 };

describe("quickGelu against OpenCLIP's QuickGELU", () => {
  for (const c of loadFixture('quick-gelu')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const x = fixtureTensor(c, 'x', { requiresGrad: true });
        const out = quickGelu(x);
        await expectTensorClose(out, c.tensors.out!, QUICK_GELU_TOL, 'forward');
        backward(sumAll(mul(out, fixtureTensor(c, 'grad_out'))));
        await expectTensorClose(x.grad!, c.tensors.grad_x!, QUICK_GELU_GRAD_TOL, 'grad x');
        x.dispose();
      });
    });
  }
});

// The kernels split their vec4s into blocks by adapter kind: a few large blocks on a CPU adapter, one round per
// workgroup on a GPU. Each fixture tiled 50 times (tens of thousands of elements, a partial last vec4 where the
// count is odd) must come out as the fixture does, element for element, under both.
const TILES = 50;
const tiled = (values: readonly number[]): number[] => Array.from({ length: TILES }, () => values).flat();

for (const fallback of [true, false]) {
  describe(`gelu and exp over many blocks, ${fallback ? 'CPU' : 'GPU'} blocks`, () => {
    asFallbackAdapter(testGpu, fallback);
    for (const c of loadFixture('activation').filter((f) => f.tensors.x!.shape.length === 1)) {
      it(c.name, async () => {
        const op = OPS[c.attrs.op as string]!;
        await scopeAsync(async () => {
          const n = c.tensors.x!.data.length * TILES;
          const x = fromArray(tiled(c.tensors.x!.data), [n]);
          x.requiresGrad = true;
          const out = op.fn(x);
          expectClose(await out.read(), tiled(c.tensors.out!.data), op.tol, 'forward');
          backward(sumAll(mul(out, fromArray(tiled(c.tensors.grad_out!.data), [n]))));
          expectClose(await x.grad!.read(), tiled(c.tensors.grad_x!.data), op.gradTol, 'grad x');
          x.dispose();
        });
      });
    }
  });
}
