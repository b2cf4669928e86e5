import { describe, expect, it } from 'vitest';
import { EOT_TOKEN as EOT, SOT_TOKEN as SOT } from '../../data/tokenizer.ts';
import { PAD_TOKEN as PAD } from '../../worker/analysis/inputs.ts';
import { shownTokens } from './tokens.ts';

const tokens = [SOT, 'a ', 'straw', 'berry ', '. ', EOT, PAD, PAD];
const weights = Float32Array.of(0.5, 0.1, 0.3, 0.05, 0.05, 0.0, 0.0, 0.0);

describe('the token-wise map as shown', () => {
  it('leaves out SOT, EOT and padding and normalizes over the words', () => {
    const shown = shownTokens(tokens, weights, false);
    expect(shown.map((t) => t.text)).toEqual(['a', 'straw', 'berry', '.']);
    expect(shown.map((t) => t.index)).toEqual([1, 2, 3, 4]);
    // 0.3 is the largest word weight, 0.05 the smallest: SOT's 0.5 does not squash the words' range.
    expect(shown.map((t) => t.value)).toEqual([0.2, 1, 0, 0].map((v) => expect.closeTo(v, 6)));
    expect(shown.map((t) => t.joined)).toEqual([false, false, true, false]);
  });

  it('shows the specials by name when asked, normalizing over everything shown', () => {
    const shown = shownTokens(tokens, weights, true);
    expect(shown.map((t) => t.text)).toEqual(['SOT', 'a', 'straw', 'berry', '.', 'EOT', 'pad', 'pad']);
    expect(shown.filter((t) => t.special).map((t) => t.index)).toEqual([0, 5, 6, 7]);
    expect(shown[0]!.value).toBe(1);
    expect(shown[5]!.value).toBe(0);
    expect(shown[2]!.raw).toBeCloseTo(0.3, 6);
  });

  it('refuses weights that do not match the tokens', () => {
    expect(() => shownTokens(tokens, new Float32Array(3), false)).toThrow(/8 tokens but 3 weights/);
  });
});
