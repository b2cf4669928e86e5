import { describe, expect, it } from 'vitest';
import { type Point, extentOf, latest, thin } from './series.ts';

const points = (n: number): Point[] => Array.from({ length: n }, (_, i) => [i + 1, Math.sin(i)]);

describe('chart series', () => {
  it('thins long series evenly, keeping the first and last points', () => {
    const thinned = thin(points(1000), 400);
    expect(thinned).toHaveLength(400);
    expect(thinned[0]).toEqual([1, Math.sin(0)]);
    expect(thinned.at(-1)).toEqual([1000, Math.sin(999)]);
    expect(thin(points(7), 400)).toHaveLength(7);
  });

  it('drops points a mode does not have (NaN) and reads the latest finite value', () => {
    const s = {
      name: 'cosmos',
      color: 'red',
      points: [
        [1, 2],
        [2, Number.NaN],
      ] as Point[],
    };
    expect(thin(s.points, 10)).toEqual([[1, 2]]);
    expect(latest(s)).toBe(2);
    expect(latest({ ...s, points: [[1, Number.NaN]] })).toBeNull();
  });

  it('pads a flat range so a constant line sits mid-chart, and has none without points', () => {
    const flat = [
      {
        name: 'a',
        color: 'red',
        points: [
          [1, 14.3],
          [2, 14.3],
        ] as Point[],
      },
    ];
    const [lo, hi] = extentOf(flat, 1)!;
    expect(lo).toBeLessThan(14.3);
    expect(hi).toBeGreaterThan(14.3);
    expect(extentOf([{ name: 'a', color: 'red', points: [] }], 1)).toBeNull();
    expect(extentOf(flat, 0)).toEqual([1, 2]);
  });
});
