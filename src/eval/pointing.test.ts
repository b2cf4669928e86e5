// The pointing game's geometry on hand-worked grids: which patch a map peaks at, whether its centre lies in a box
// (x1 and y1 exclusive), and the chance of a map that peaks anywhere. No GPU needed.
import { describe, expect, it } from 'vitest';
import { peakIndex, pointingChance, pointsInside } from './pointing.ts';

describe('peakIndex', () => {
  it('is the index of the highest value, the first of equal highs, as numpy.argmax', () => {
    expect(peakIndex([0.1, 0.7, 0.2])).toBe(1);
    expect(peakIndex([-3, -1, -1, -2])).toBe(1);
    expect(peakIndex(new Float32Array(5))).toBe(0);
  });
});

describe('pointsInside', () => {
  // A 4 x 4 grid over a 64 px image: patch centres at 8, 24, 40 and 56 px on each axis.
  const grid: [number, number] = [4, 4];
  const peakAt = (patch: number) => Float32Array.from({ length: 16 }, (_, p) => (p === patch ? 1 : 0));

  it('finds the peak patch and tests its centre against the box', () => {
    // Patch 6 is row 1, column 2: centre (40, 24).
    expect(pointsInside(peakAt(6), grid, 64, [32, 16, 48, 32])).toBe(true);
    expect(pointsInside(peakAt(5), grid, 64, [32, 16, 48, 32])).toBe(false);
    expect(pointsInside(peakAt(10), grid, 64, [32, 16, 48, 32])).toBe(false);
  });

  it('counts x1 and y1 as outside the box and x0 and y0 as inside', () => {
    expect(pointsInside(peakAt(0), grid, 64, [8, 8, 9, 9])).toBe(true);
    expect(pointsInside(peakAt(0), grid, 64, [0, 0, 8, 8])).toBe(false);
    expect(pointsInside(peakAt(0), grid, 64, [0, 0, 9, 8])).toBe(false);
  });

  it('takes the first of equal highs, so a flat map points at the top-left patch', () => {
    expect(pointsInside(new Float32Array(16), grid, 64, [0, 0, 16, 16])).toBe(true);
    const twoPeaks = peakAt(15);
    twoPeaks[3] = 1;
    expect(pointsInside(twoPeaks, grid, 64, [48, 0, 64, 16])).toBe(true);
    expect(pointsInside(twoPeaks, grid, 64, [48, 48, 64, 64])).toBe(false);
  });

  it('maps patches to pixels on non-square grids', () => {
    // 2 rows x 4 columns over 64 px: patch 5 is row 1, column 1, centre (24, 48).
    expect(
      pointsInside(
        Float32Array.from({ length: 8 }, (_, p) => (p === 5 ? 1 : 0)),
        [2, 4],
        64,
        [16, 40, 32, 56],
      ),
    ).toBe(true);
    expect(
      pointsInside(
        Float32Array.from({ length: 8 }, (_, p) => (p === 5 ? 1 : 0)),
        [2, 4],
        64,
        [16, 8, 32, 24],
      ),
    ).toBe(false);
  });
});

describe('pointingChance', () => {
  it('is the share of patch centres inside the box', () => {
    // An 8 x 8 grid over 64 px: centres at 4, 12, ..., 60. [10, 10, 30, 20] holds x in {12, 20, 28}, y in {12}.
    expect(pointingChance([8, 8], 64, [10, 10, 30, 20])).toBeCloseTo(3 / 64, 12);
    expect(pointingChance([8, 8], 64, [0, 0, 64, 64])).toBe(1);
    expect(pointingChance([8, 8], 64, [5, 5, 11, 11])).toBe(0);
  });

  it('agrees with pointsInside over every possible peak', () => {
    const box = [7, 19, 45, 33];
    let hits = 0;
    for (let p = 0; p < 64; p++)
      hits += Number(
        pointsInside(
          Float32Array.from({ length: 64 }, (_, q) => Number(q === p)),
          [8, 8],
          64,
          box,
        ),
      );
    expect(pointingChance([8, 8], 64, box)).toBe(hits / 64);
  });
});
