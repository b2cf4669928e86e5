import { describe, expect, it } from 'vitest';
import { expectClose, loadFixture } from '../testing/fixtures.ts';
import { attentionRollout, residualAttention } from './rollout.ts';

describe('attention rollout', () => {
  for (const c of loadFixture('rollout')) {
    it(`matches PyTorch's full matrix product, ${c.name}`, () => {
      const { layers, heads, tokens } = c.attrs as { layers: number; heads: number; tokens: number };
      const all = Float32Array.from(c.tensors.attention!.data);
      const per = heads * tokens * tokens;
      const input = Array.from({ length: layers }, (_, l) => ({ heads, tokens, weights: all.subarray(l * per, (l + 1) * per) }));
      // Both sides accumulate in float64 from the same float32 inputs; the result is rounded to float32 once.
      expectClose(attentionRollout(input), c.tensors.rollout!, { rtol: 1e-6, atol: 1e-9 }, c.name);
    });
  }

  it('keeps rows stochastic and gives half the weight to the residual path', () => {
    // One head, two tokens, each attending only to the other: A' = [[0.5, 0.5], [0.5, 0.5]].
    const a = residualAttention({ heads: 1, tokens: 2, weights: Float32Array.of(0, 1, 1, 0) });
    expect([...a]).toEqual([0.5, 0.5, 0.5, 0.5]);
  });

  it('is the CLS row over the patches only', () => {
    const identity = { heads: 2, tokens: 3, weights: Float32Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0, 0, 0, 1) };
    // Attention to oneself only: the CLS token gets nothing from the patches, through any number of layers.
    expect([...attentionRollout([identity, identity])]).toEqual([0, 0]);
  });

  it('refuses layers of different sizes', () => {
    const small = { heads: 1, tokens: 2, weights: Float32Array.of(1, 0, 0, 1) };
    const large = { heads: 1, tokens: 3, weights: new Float32Array(9).fill(1 / 3) };
    expect(() => attentionRollout([small, large])).toThrow(/layer 1 has 3 tokens/);
  });
});
