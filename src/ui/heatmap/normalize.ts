/**
 * Heatmap values as the COSMOS paper shows them: each map min-max normalized to [0, 1] on its own (so maps of
 * different heads, layers or captions all use the full colour range), and the statistics the page exposes for
 * tests and readers.
 */

export interface MapStats {
  min: number;
  max: number;
  mean: number;
  /** Population standard deviation. */
  std: number;
}

export interface NormalizedMap {
  /** (v - min) / (max - min); all 0 for a flat map. */
  values: Float32Array;
  /** The raw weights' range, for the legend. */
  rawMin: number;
  rawMax: number;
  /** Every value equal: nothing to tell apart, the map is drawn at 0. */
  flat: boolean;
}

export function mapStats(values: ArrayLike<number>): MapStats {
  if (values.length === 0) throw new Error('statistics of an empty map');
  let min = Infinity;
  let max = -Infinity;
  let total = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    min = Math.min(min, v);
    max = Math.max(max, v);
    total += v;
  }
  const mean = total / values.length;
  let squares = 0;
  for (let i = 0; i < values.length; i++) squares += (values[i]! - mean) ** 2;
  return { min, max, mean, std: Math.sqrt(squares / values.length) };
}

export function minMaxNormalize(values: ArrayLike<number>): NormalizedMap {
  const { min, max } = mapStats(values);
  if (!Number.isFinite(min) || !Number.isFinite(max)) throw new Error('a heatmap holds a value that is not a finite number');
  const range = max - min;
  // A range at float32 rounding level of the values is no signal: call the map flat rather than amplify noise.
  const flat = range <= 1e-7 * Math.max(Math.abs(max), Math.abs(min), Number.MIN_VALUE);
  const out = new Float32Array(values.length);
  if (!flat) for (let i = 0; i < values.length; i++) out[i] = Math.min(1, Math.max(0, (values[i]! - min) / range));
  return { values: out, rawMin: min, rawMax: max, flat };
}
