import { describe, expect, it } from 'vitest';
import { mapStats, minMaxNormalize } from './normalize.ts';

describe('min-max normalization of a map', () => {
  it('maps the smallest weight to 0, the largest to 1 and the rest linearly', () => {
    const { values, rawMin, rawMax, flat } = minMaxNormalize(Float32Array.of(0.01, 0.03, 0.02, 0.05));
    expect([rawMin, rawMax, flat]).toEqual([Math.fround(0.01), Math.fround(0.05), false]);
    expect(values[0]).toBe(0);
    expect(values[3]).toBe(1);
    expect(values[1]).toBeCloseTo(0.5, 6);
    expect(values[2]).toBeCloseTo(0.25, 6);
  });

  it('does not depend on the scale or offset of the weights', () => {
    const raw = [3, 1, 4, 1, 5, 9, 2, 6];
    const a = minMaxNormalize(raw).values;
    const b = minMaxNormalize(raw.map((v) => 0.001 * v + 7)).values;
    // 7.00x in float64 keeps ~13 digits of the 0.001 steps: far below float32 resolution of [0, 1].
    for (let i = 0; i < raw.length; i++) expect(b[i]).toBeCloseTo(a[i]!, 6);
  });

  it('calls a map of equal weights flat and draws it at 0', () => {
    const { values, flat } = minMaxNormalize(new Float32Array(64).fill(1 / 64));
    expect(flat).toBe(true);
    expect([...values].every((v) => v === 0)).toBe(true);
  });

  it('refuses non-finite weights', () => {
    expect(() => minMaxNormalize([0, NaN, 1])).toThrow(/finite/);
    expect(() => minMaxNormalize([0, Infinity])).toThrow(/finite/);
  });

  it('gives the statistics the page exposes', () => {
    const s = mapStats([0, 1, 0, 1]);
    expect(s).toEqual({ min: 0, max: 1, mean: 0.5, std: 0.5 });
    expect(() => mapStats([])).toThrow(/empty/);
  });
});
