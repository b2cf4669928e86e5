import { describe, expect, it } from 'vitest';
import { type FixtureCase, type Tolerance, expectClose, expectTensorClose, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { noGrad } from '../engine.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { type Shape, type Tensor, fromArray, numel, zeros } from '../tensor.ts';
import { attention, packedSelfAttention } from './attention.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';
import { concat, slice } from './shape.ts';

setupTestGpu();

// Outputs, probabilities and gradients: dot products of up to 64 terms, an exp and sums of up to 77 terms in
// another order than PyTorch's, on values of order 1. Measured worst 7e-7 absolute (a 65-query causal grad_v),
// a quarter of this allowance; a wrong head, row or mask is off by O(0.1-1).
const TOL = { rtol: 1e-5, atol: 1e-6 };

/** The fixture script's `hashed`: uniform values in [-scale, scale) from murmur3's finalizer, exact in float32. */
function hashed(shape: Shape, seed: number, scale: number): Tensor {
  const data = new Float32Array(numel(shape));
  for (let n = 0; n < data.length; n++) {
    let h = (Math.imul(n, 0x9e3779b1) + Math.imul(seed, 0x85ebca77)) >>> 0;
    h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
    h = (h ^ (h >>> 16)) >>> 0;
    data[n] = ((h >>> 8) / 2 ** 23 - 1) * scale;
  }
  return fromArray(data, shape);
}

interface Attrs {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  d: number;
  causal: boolean;
  seed: number;
  /** Expected tensors stored as every stride-th element of their flat data. */
  sampled: Record<string, { shape: number[]; stride: number }>;
}

/** The case's inputs, rebuilt as the fixture script makes them (storing them would make the fixture several MB). */
function inputs(a: Attrs): { q: Tensor; k: Tensor; v: Tensor; gradOut: Tensor } {
  const e = a.heads * a.d;
  return {
    q: hashed([a.batch, a.tq, e], a.seed, 2),
    k: hashed([a.batch, a.tk, e], a.seed + 1, 2),
    v: hashed([a.batch, a.tk, e], a.seed + 2, 1),
    gradOut: hashed([a.batch, a.tq, e], a.seed + 3, 1),
  };
}

async function expectFixture(actual: Tensor | null, c: FixtureCase, name: string, tol: Tolerance = TOL): Promise<void> {
  if (!actual) throw new Error(`${name}: missing`);
  const sampling = (c.attrs as unknown as Attrs).sampled[name];
  if (!sampling) return expectTensorClose(actual, c.tensors[name]!, tol, name);
  expect(actual.shape, name).toEqual(sampling.shape);
  const data = await actual.read();
  const picked = Array.from(c.tensors[name]!.data, (_, n) => data[n * sampling.stride]!);
  expectClose(picked, c.tensors[name]!, tol, name);
}

describe('attention against PyTorch', () => {
  for (const c of loadFixture('attention')) {
    const a = c.attrs as unknown as Attrs;
    const opts = { heads: a.heads, causal: a.causal };

    it(`${c.name}: output, per-head weights, gradients`, async () => {
      await scopeAsync(async () => {
        const { q, k, v, gradOut } = inputs(a);
        await expectFixture(q, c, 'q', { rtol: 0, atol: 0 }); // the same inputs as PyTorch's, bit for bit
        for (const t of [q, k, v]) t.requiresGrad = true;
        const { out, weights } = attention(q, k, v, { ...opts, weights: 'per-head' });
        await expectFixture(out, c, 'out');
        await expectFixture(weights, c, 'weights_heads');
        backward(sumAll(mul(out, gradOut)));
        await expectFixture(q.grad, c, 'grad_q');
        await expectFixture(k.grad, c, 'grad_k');
        await expectFixture(v.grad, c, 'grad_v');
        for (const t of [q, k, v]) t.dispose();
      });
    });

    if (a.tq === a.tk) {
      it(`${c.name}: packed self-attention reads q, k, v from one [B, T, 3E] and writes one gradient`, async () => {
        await scopeAsync(async () => {
          const { q, k, v, gradOut } = inputs(a);
          const qkv = concat([q, k, v], 2);
          qkv.requiresGrad = true;
          const { out, weights } = packedSelfAttention(qkv, { ...opts, weights: 'per-head' });
          await expectFixture(out, c, 'out');
          await expectFixture(weights, c, 'weights_heads');
          backward(sumAll(mul(out, gradOut)));
          const e = a.heads * a.d;
          for (const [i, name] of ['grad_q', 'grad_k', 'grad_v'].entries()) await expectFixture(slice(qkv.grad!, 2, i * e, (i + 1) * e), c, name);
          qkv.dispose();
        });
      });
    }

    it(`${c.name}: mean weights without grad`, async () => {
      await scopeAsync(async () => {
        const { q, k, v } = inputs(a);
        const { out, weights } = noGrad(() => attention(q, k, v, { ...opts, weights: 'mean' }));
        expect(out.node).toBeNull();
        await expectFixture(out, c, 'out');
        await expectFixture(weights, c, 'weights_mean');
      });
    });
  }

  it('computes only the gradients that are needed', async () => {
    const c = loadFixture('attention').find((f) => f.name.startsWith('B2 H3 Tq7 Tk13'))!;
    const a = c.attrs as unknown as Attrs;
    await scopeAsync(async () => {
      const { q, k, v, gradOut } = inputs(a);
      k.requiresGrad = true;
      const { out, weights } = attention(q, k, v, { heads: a.heads });
      expect(weights).toBeNull();
      backward(sumAll(mul(out, gradOut)));
      await expectFixture(k.grad, c, 'grad_k');
      expect(q.grad).toBeNull();
      expect(v.grad).toBeNull();
      k.dispose();
    });
  });

  it('rejects shapes the kernels do not handle', async () => {
    await scopeAsync(async () => {
      const x = zeros([1, 3, 12]);
      expect(() => attention(x, x, x, { heads: 2 })).toThrow(/multiple of 4/);
      expect(() => attention(x, x, x, { heads: 5 })).toThrow(/split evenly/);
      expect(() => attention(zeros([1, 2, 8]), x, x, { heads: 3 })).toThrow(/batch and width/);
      expect(() => attention(zeros([1, 2, 12]), x, x, { heads: 3, causal: true })).toThrow(/as many queries/);
    });
  });
});
