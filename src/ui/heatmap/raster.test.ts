import { describe, expect, it } from 'vitest';
import { heatColour, heatGradientCss, classColour } from './colormap.ts';
import { heatmapRgba, labelRgba, matrixRgba, rgbToRgba } from './raster.ts';

const alphaAt = (rgba: Uint8ClampedArray, width: number, x: number, y: number) => rgba[(y * width + x) * 4 + 3]!;

describe('heatmap pixels', () => {
  it('colours the ends of the scale with the colour map ends', () => {
    const [low, high] = [heatColour(0), heatColour(1)];
    expect(low).not.toEqual(high);
    expect(heatColour(-3)).toEqual(low);
    expect(heatColour(7)).toEqual(high);
    expect(heatGradientCss(4).startsWith('linear-gradient(to right, ')).toBe(true);
  });

  it('upsamples a 2x2 map smoothly: patch centres keep their values, the middle blends them', () => {
    // 2x2 patches drawn at 8x8: patch centres at pixels 1.5 and 5.5 along each axis.
    const rgba = heatmapRgba(Float32Array.of(0, 1, 0, 1), [2, 2], 8, 8, { opacity: 1 });
    expect(rgba).toHaveLength(8 * 8 * 4);
    // Alpha rises with the value: left column (0) is faint, right column (1) fully opaque.
    expect(alphaAt(rgba, 8, 0, 0)).toBe(Math.round(255 * 0.25));
    expect(alphaAt(rgba, 8, 7, 7)).toBe(255);
    // Between the centres the value ramps monotonically: more than 2 distinct levels along a row.
    const row = Array.from({ length: 8 }, (_, x) => alphaAt(rgba, 8, x, 3));
    expect(new Set(row).size).toBeGreaterThan(2);
    expect(row).toEqual([...row].sort((a, b) => a - b));
    // Columns are equal: the map does not vary along y.
    expect(alphaAt(rgba, 8, 3, 0)).toBe(alphaAt(rgba, 8, 3, 7));
  });

  it('scales the overlay by the opacity and refuses a wrong grid', () => {
    const rgba = heatmapRgba(Float32Array.of(1), [1, 1], 2, 2, { opacity: 0.5 });
    expect(alphaAt(rgba, 2, 1, 1)).toBe(128);
    expect(() => heatmapRgba(new Float32Array(3), [2, 2], 4, 4, { opacity: 1 })).toThrow(/3 values for a 2x2 grid/);
  });

  it('draws matrices cell by cell and class maps with background left clear', () => {
    expect([...matrixRgba(Float32Array.of(0, 1)).slice(0, 4)]).toEqual([...heatColour(0), 255]);
    const labels = labelRgba(Int16Array.of(-1, 0, 2), { opacity: 1 });
    expect(labels[3]).toBe(0);
    expect([...labels.slice(4, 8)]).toEqual([...classColour(0), 255]);
    expect([...labels.slice(8, 12)]).toEqual([...classColour(2), 255]);
    expect(classColour(0)).not.toEqual(classColour(1));
    expect(classColour(25)).not.toEqual(classColour(26));
    expect([...rgbToRgba(Uint8Array.of(1, 2, 3))]).toEqual([1, 2, 3, 255]);
  });
});
