import { useEffect, useMemo, useRef } from 'react';
import type { RgbImage } from '../../data/image.ts';
import { peakIndex } from '../../eval/pointing.ts';
import { drawHeatmap, drawPicture, prepareCanvas } from './draw.ts';
import { mapStats, minMaxNormalize } from './normalize.ts';

interface HeatmapCanvasProps {
  /** Raw weights over the patch grid, row-major; normalized here, min-max per map. */
  values: Float32Array;
  grid: readonly [number, number];
  /** Drawn under the map. */
  image?: RgbImage;
  /** Side in CSS pixels. */
  size: number;
  opacity: number;
  testId?: string;
  label: string;
}

/** A short fingerprint of a map, so that a test (or a reader of the DOM) sees when the map changed. */
const signature = (values: Float32Array): string => values.reduce((s, v, i) => s + v * ((i % 7) + 1), 0).toFixed(6);

/**
 * One patch map over its picture, on a canvas. The normalized values' statistics are on the element
 * (data-min, data-max, data-mean, data-std, data-signature; data-raw-min and data-raw-max before normalizing), and
 * data-peak, the row-major patch it peaks at: where the pointing game says it points.
 */
export function HeatmapCanvas({ values, grid, image, size, opacity, testId, label }: HeatmapCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const normalized = useMemo(() => minMaxNormalize(values), [values]);
  const stats = useMemo(() => mapStats(normalized.values), [normalized]);

  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const context = prepareCanvas(element, size, size);
    const box = { x: 0, y: 0, width: element.width, height: element.height };
    if (image) drawPicture(context, image, box);
    drawHeatmap(context, normalized.values, grid, box, { opacity });
  }, [normalized, grid, image, size, opacity]);

  return (
    <canvas
      ref={canvas}
      className="heatmap-canvas"
      role="img"
      aria-label={label}
      title={`${label}: raw weights ${normalized.rawMin.toPrecision(3)} to ${normalized.rawMax.toPrecision(3)}`}
      data-testid={testId}
      data-min={stats.min}
      data-max={stats.max}
      data-mean={stats.mean.toFixed(6)}
      data-std={stats.std.toFixed(6)}
      data-flat={normalized.flat}
      data-raw-min={normalized.rawMin}
      data-raw-max={normalized.rawMax}
      data-signature={signature(normalized.values)}
      data-peak={peakIndex(values)}
    />
  );
}
