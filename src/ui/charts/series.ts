/** The data side of the line charts: points per series, thinned for drawing, and a y range that shows them. */

export type Point = readonly [x: number, y: number];

export interface Series {
  name: string;
  /** A CSS color (a custom property works: var(--series-1)). */
  color: string;
  points: readonly Point[];
  dashed?: boolean;
}

/**
 * At most `max` points, evenly spread, always keeping the first and the last: a few hundred points draw fast in
 * SVG whatever the length of the run. Points whose y is not finite (a loss term the mode does not have) are dropped.
 */
export function thin(points: readonly Point[], max: number): Point[] {
  const finite = points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y));
  if (finite.length <= max) return finite;
  const out: Point[] = [];
  const stride = (finite.length - 1) / (max - 1);
  for (let i = 0; i < max; i++) out.push(finite[Math.round(i * stride)]!);
  return out;
}

/** [min, max] over every series' points, padded when flat so that a constant line sits mid-chart. */
export function extentOf(series: readonly Series[], axis: 0 | 1): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const s of series) {
    for (const p of s.points) {
      if (!Number.isFinite(p[axis])) continue;
      lo = Math.min(lo, p[axis]);
      hi = Math.max(hi, p[axis]);
    }
  }
  if (lo > hi) return null;
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.05 || 1;
    return [lo - pad, hi + pad];
  }
  return [lo, hi];
}

/** The last finite y of a series, or null. */
export function latest(series: Series): number | null {
  for (let i = series.points.length - 1; i >= 0; i--) {
    const y = series.points[i]![1];
    if (Number.isFinite(y)) return y;
  }
  return null;
}
