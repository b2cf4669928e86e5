/**
 * Pixels of the maps, as RGBA for a canvas: pure functions (no DOM), so they run and are tested in Node.
 * Patch maps are upsampled smoothly: the normalized values are resampled bilinearly (PyTorch's
 * align_corners=False rule, as the segmentation upsamples) and then coloured, so colours between two patches
 * come from the colour map, not from blending two colours.
 */
import { resizeBilinear } from '../../eval/planes.ts';
import { classColour, heatColour, level } from './colormap.ts';

export interface Overlay {
  /** Overall opacity of the colour over the picture, 0..1. */
  opacity: number;
}

/**
 * RGBA of a normalized map [rows, cols] at width x height. The colour's alpha rises with the value, so low-weight
 * regions leave the picture visible and high-weight ones are coloured: opacity * (0.25 + 0.75 v).
 */
export function heatmapRgba(
  values: Float32Array,
  [rows, cols]: readonly [number, number],
  width: number,
  height: number,
  { opacity }: Overlay,
): Uint8ClampedArray {
  if (values.length !== rows * cols) throw new Error(`heatmap: ${values.length} values for a ${rows}x${cols} grid`);
  const smooth = resizeBilinear({ channels: 1, height: rows, width: cols, data: values }, height, width).data;
  const out = new Uint8ClampedArray(width * height * 4);
  for (let p = 0; p < smooth.length; p++) {
    const v = smooth[p]!;
    const [r, g, b] = heatColour(v);
    out[p * 4] = r;
    out[p * 4 + 1] = g;
    out[p * 4 + 2] = b;
    out[p * 4 + 3] = Math.round(255 * opacity * (0.25 + 0.75 * (level(v) / 255)));
  }
  return out;
}

/** RGBA of a row-major matrix, one pixel per cell, fully opaque: for a canvas drawn scaled without smoothing. */
export function matrixRgba(values: Float32Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray(values.length * 4);
  values.forEach((v, p) => {
    out.set(heatColour(v), p * 4);
    out[p * 4 + 3] = 255;
  });
  return out;
}

/** RGBA of a per-pixel class map: class colours at `opacity`, background (-1) transparent. */
export function labelRgba(labels: Int16Array, { opacity }: Overlay): Uint8ClampedArray {
  const out = new Uint8ClampedArray(labels.length * 4);
  const alpha = Math.round(255 * opacity);
  const colours = Array.from({ length: labels.reduce((m, l) => Math.max(m, l), -1) + 1 }, (_, c) => classColour(c));
  labels.forEach((label, p) => {
    if (label < 0) return;
    out.set(colours[label]!, p * 4);
    out[p * 4 + 3] = alpha;
  });
  return out;
}

/** RGB bytes (3 per pixel) as opaque RGBA. */
export function rgbToRgba(data: Uint8Array): Uint8ClampedArray {
  const out = new Uint8ClampedArray((data.length / 3) * 4);
  for (let p = 0, q = 0; p < data.length; p += 3, q += 4) {
    out[q] = data[p]!;
    out[q + 1] = data[p + 1]!;
    out[q + 2] = data[p + 2]!;
    out[q + 3] = 255;
  }
  return out;
}
