/** Float planes (CHW) on the host, and their bilinear resize as PyTorch computes it: segmentation maps and heatmaps. */

/** Planes of CHW float values. */
export interface Planes {
  channels: number;
  height: number;
  width: number;
  data: Float32Array;
}

/**
 * PyTorch's bilinear F.interpolate(size=..., align_corners=False): output pixel i samples the input at
 * (i + 0.5) * in / out - 0.5, clamped at 0, between that index and the next one (clamped at the border).
 */
export function resizeBilinear(input: Planes, height: number, width: number): Planes {
  const { channels, height: inH, width: inW, data } = input;
  const axis = (inSize: number, outSize: number) => {
    const scale = inSize / outSize;
    const first = new Int32Array(outSize);
    const next = new Int32Array(outSize);
    const frac = new Float64Array(outSize);
    for (let o = 0; o < outSize; o++) {
      const src = Math.max((o + 0.5) * scale - 0.5, 0);
      first[o] = Math.floor(src);
      next[o] = Math.min(first[o]! + 1, inSize - 1);
      frac[o] = src - first[o]!;
    }
    return { first, next, frac };
  };
  const ys = axis(inH, height);
  const xs = axis(inW, width);
  const out = new Float32Array(channels * height * width);
  for (let c = 0; c < channels; c++) {
    const plane = c * inH * inW;
    for (let y = 0; y < height; y++) {
      const top = plane + ys.first[y]! * inW;
      const bottom = plane + ys.next[y]! * inW;
      const fy = ys.frac[y]!;
      for (let x = 0; x < width; x++) {
        const [x0, x1, fx] = [xs.first[x]!, xs.next[x]!, xs.frac[x]!];
        const upper = (1 - fx) * data[top + x0]! + fx * data[top + x1]!;
        const lower = (1 - fx) * data[bottom + x0]! + fx * data[bottom + x1]!;
        out[(c * height + y) * width + x] = (1 - fy) * upper + fy * lower;
      }
    }
  }
  return { channels, height, width, data: out };
}
