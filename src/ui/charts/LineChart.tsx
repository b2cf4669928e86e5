import { line, scaleLinear } from 'd3';
import { useLayoutEffect, useRef, useState } from 'react';
import { type Series, extentOf, latest, thin } from './series.ts';

interface LineChartProps {
  title: string;
  testId: string;
  series: readonly Series[];
  /** The x range to draw (e.g. the run's steps), else the data's. */
  xDomain?: [number, number];
  /** The y range to draw, else the data's (made nice). */
  yDomain?: [number, number];
  /** Draw y from 0 (rates, times, sizes), not from the data's lowest value. */
  fromZero?: boolean;
  /** Formats the legend's values and, when given, the y ticks (else d3 picks a precision that tells ticks apart). */
  formatY?: (value: number) => string;
  xLabel?: string;
  /** Shown in place of the lines before the first point. */
  emptyText?: string;
  /** Steps to flag with a vertical line across the chart (the skipped ones), and what the lines mean. */
  marks?: { xs: readonly number[]; label: string };
  height?: number;
}

/** Points drawn per series at most. */
const MAX_POINTS = 400;
const MARGIN = { top: 8, right: 14, bottom: 26, left: 48 };

/** Legend values: four significant digits, exponents only for the very small or large. */
const legendFormat = (v: number): string => {
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(4)));
};

/** The width of an element, following resizes. */
function useWidth<T extends HTMLElement>(): [React.RefObject<T | null>, number] {
  const ref = useRef<T>(null);
  const [width, setWidth] = useState(0);
  useLayoutEffect(() => {
    const element = ref.current;
    if (!element) return;
    setWidth(element.clientWidth);
    const observer = new ResizeObserver(([entry]) => setWidth(Math.floor(entry!.contentRect.width)));
    observer.observe(element);
    return () => observer.disconnect();
  }, []);
  return [ref, width];
}

/** A small SVG line chart with axes and a legend that shows each series' latest value. */
export function LineChart({
  title,
  testId,
  series,
  xDomain,
  yDomain,
  fromZero,
  formatY,
  xLabel = 'step',
  emptyText = 'Waits for the first step.',
  marks,
  height = 150,
}: LineChartProps) {
  const [ref, width] = useWidth<HTMLDivElement>();
  const drawn = series.map((s) => ({ ...s, points: thin(s.points, MAX_POINTS) }));
  const count = Math.max(0, ...drawn.map((s) => s.points.length));
  const xs = xDomain ?? extentOf(drawn, 0);
  const data = extentOf(drawn, 1);
  const ys = yDomain ?? (data && fromZero ? ([0, Math.max(data[1], 0)] as [number, number]) : data);
  const innerWidth = Math.max(0, width - MARGIN.left - MARGIN.right);
  const innerHeight = height - MARGIN.top - MARGIN.bottom;

  const x = scaleLinear()
    .domain(xs ?? [0, 1])
    .range([0, innerWidth]);
  const y = scaleLinear()
    .domain(ys ?? [0, 1])
    .range([innerHeight, 0]);
  if (!yDomain) y.nice(4);
  const path = line<readonly [number, number]>()
    .x((p) => x(p[0]))
    .y((p) => y(p[1]));
  const xTicks = x.ticks(Math.max(2, Math.floor(innerWidth / 70))).filter(Number.isInteger);
  // Before the first point there is no y scale to speak of: no y ticks either.
  const yTicks = count > 0 || yDomain ? y.ticks(4) : [];
  const tickFormat = formatY ?? y.tickFormat(4);
  const valueFormat = formatY ?? legendFormat;

  return (
    <figure className="chart" data-testid={testId} data-points={count} data-marks={marks?.xs.length ?? 0}>
      <figcaption className="chart-head">
        <span className="chart-title">{title}</span>
        <span className="chart-legend">
          {series.map((s) => {
            const value = latest(s);
            return (
              <span key={s.name} className="legend-item" data-testid={`${testId}-${s.name.replace(/\W+/g, '-')}`} data-value={value ?? ''}>
                <span className={s.dashed ? 'legend-line legend-line-dashed' : 'legend-line'} style={{ borderColor: s.color }} aria-hidden="true" />
                {s.name}
                <span className="legend-value">{value === null ? '–' : valueFormat(value)}</span>
              </span>
            );
          })}
        </span>
      </figcaption>
      <div className="chart-body" ref={ref}>
        {width > 0 && (
          <svg width={width} height={height} role="img" aria-label={`${title} over ${xLabel}s`}>
            <g transform={`translate(${MARGIN.left},${MARGIN.top})`}>
              {yTicks.map((t) => (
                <g key={`y${t}`} transform={`translate(0,${y(t)})`} className="tick">
                  <line x2={innerWidth} className="grid" />
                  <text x={-6} dy="0.32em" textAnchor="end">
                    {tickFormat(t)}
                  </text>
                </g>
              ))}
              {xTicks.map((t) => (
                <g key={`x${t}`} transform={`translate(${x(t)},${innerHeight})`} className="tick">
                  <line y2={4} className="axis" />
                  <text y={16} textAnchor="middle">
                    {t}
                  </text>
                </g>
              ))}
              {marks?.xs.map((m) => (
                <line key={`m${m}`} x1={x(m)} x2={x(m)} y1={0} y2={innerHeight} className="chart-mark">
                  <title>{`${marks.label}: step ${m}`}</title>
                </line>
              ))}
              <line x1={0} x2={innerWidth} y1={innerHeight} y2={innerHeight} className="axis" />
              <text x={innerWidth} y={innerHeight + 24} textAnchor="end" className="axis-label">
                {xLabel}
              </text>
              {drawn.map((s) =>
                s.points.length === 1 ? (
                  <circle key={s.name} cx={x(s.points[0]![0])} cy={y(s.points[0]![1])} r={2.5} fill={s.color} />
                ) : (
                  <path key={s.name} d={path(s.points) ?? ''} fill="none" stroke={s.color} strokeWidth={1.75} strokeDasharray={s.dashed ? '4 3' : undefined} />
                ),
              )}
            </g>
          </svg>
        )}
        {count === 0 && <p className="chart-empty muted">{emptyText}</p>}
      </div>
    </figure>
  );
}
