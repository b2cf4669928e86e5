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

// On this CPU adapter rows of whole vec4s (512, 768, 3072 columns) go one per invocation and the others get 4
// invocations each (rowGroup()); on a GPU every row gets 64: the fixtures run under both.
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

/** y, dx, dweight, dbias of LayerNorm in float64, for rows x [rows, cols] and upstream gradient g. */
function layerNormReference(x: Float32Array, w: Float32Array, b: Float32Array, g: Float32Array, cols: number, eps: number) {
  const rows = x.length / cols;
  const [y, dx, dw, db] = [new Float64Array(x.length), new Float64Array(x.length), new Float64Array(cols), new Float64Array(cols)];
  for (let r = 0; r < rows; r++) {
    const row = Array.from(x.subarray(r * cols, (r + 1) * cols));
    const mean = row.reduce((s, v) => s + v, 0) / cols;
    const rstd = 1 / Math.sqrt(row.reduce((s, v) => s + (v - mean) ** 2, 0) / cols + eps);
    const xhat = row.map((v) => (v - mean) * rstd);
    const gw = xhat.map((_, c) => g[r * cols + c]! * w[c]!);
    const meanGw = gw.reduce((s, v) => s + v, 0) / cols;
    const meanGwX = gw.reduce((s, v, c) => s + v * xhat[c]!, 0) / cols;
    for (let c = 0; c < cols; c++) {
      y[r * cols + c] = xhat[c]! * w[c]! + b[c]!;
      dx[r * cols + c] = rstd * (gw[c]! - meanGw - xhat[c]! * meanGwX);
      dw[c] += g[r * cols + c]! * xhat[c]!;
      db[c] += g[r * cols + c]!;
    }
  }
  return { y, dx, dw, db };
}

// Many rows: several workgroups of one-row invocations on this CPU adapter (and several chunks of backward_params),
// one workgroup per row on a GPU. Against float64 with the fixtures' tolerances.
for (const fallback of [true, false]) {
  describe(`layerNorm over many rows, ${fallback ? 'CPU' : 'GPU'} row workgroups`, () => {
    asFallbackAdapter(testGpu, fallback);
    for (const cols of [64, 13]) {
      it(`300 rows of ${cols}`, async () => {
        const rows = 300;
        const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) * 3 + (i % 5));
        const [xv, wv, bv, gv] = [values(rows * cols, 0.37), values(cols, 1.3), values(cols, 2.1), values(rows * cols, 0.91)];
        const want = layerNormReference(xv, wv, bv, gv, cols, 1e-5);
        await scopeAsync(async () => {
          const [x, weight, bias] = [fromArray(xv, [rows, cols]), fromArray(wv, [cols]), fromArray(bv, [cols])];
          for (const t of [x, weight, bias]) t.requiresGrad = true;
          const out = layerNorm(x, weight, bias);
          expectClose(await out.read(), want.y, FORWARD_TOL, 'forward');
          backward(sumAll(mul(out, fromArray(gv, [rows, cols]))));
          expectClose(await x.grad!.read(), want.dx, GRAD_TOL, 'grad x');
          expectClose(await weight.grad!.read(), want.dw, GRAD_TOL, 'grad weight');
          expectClose(await bias.grad!.read(), want.db, GRAD_TOL, 'grad bias');
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
