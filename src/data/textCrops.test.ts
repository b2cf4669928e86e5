import { describe, expect, it } from 'vitest';
import { rng } from './random.ts';
import { sentencesOf, textCrops } from './textCrops.ts';

const CAPTION = 'A large red apple in the top left. A small dog at the bottom centre.\nThe background is a light blue sky. A car on the right';

describe('text crops', () => {
  it('splits a caption into sentences on newlines and full stops', () => {
    expect(sentencesOf(CAPTION)).toEqual([
      'A large red apple in the top left',
      'A small dog at the bottom centre',
      'The background is a light blue sky',
      'A car on the right',
    ]);
  });

  it('makes 2 global crops of 1-5 distinct sentences and N local single sentences', () => {
    const sentences = sentencesOf(CAPTION);
    const random = rng(4);
    const lengths = new Set<number>();
    for (let trial = 0; trial < 300; trial++) {
      const crops = textCrops(random, CAPTION, 6);
      expect(crops).toHaveLength(8);
      for (const g of crops.slice(0, 2)) {
        const parts = g.split('. ');
        lengths.add(parts.length);
        expect(new Set(parts).size).toBe(parts.length); // without replacement
        for (const p of parts) expect(sentences).toContain(p);
      }
      const locals = crops.slice(2);
      for (const l of locals) expect(sentences).toContain(l);
      // 4 sentences for 6 local crops: every sentence once before any repeats.
      expect(new Set(locals.slice(0, 4)).size).toBe(4);
    }
    expect([...lengths].sort()).toEqual([1, 2, 3, 4]); // n ~ U{1..5}, capped at the 4 sentences there are
  });

  it('is a function of the random stream', () => {
    expect(textCrops(rng(9), CAPTION, 6)).toEqual(textCrops(rng(9), CAPTION, 6));
  });
});
