/** The rows of bench/results/step.json and the table `npm run bench:step` prints from them. */
import { figure, significant } from '../cases.ts';
import { type StepCase, caseName } from './cases.ts';

/** One line of bench/results/step.json. */
export interface StepRow {
  impl: 'cosmos-web' | 'pytorch';
  runtime: 'node' | 'chromium' | 'torch';
  adapter: string;
  preset: string;
  mode: string;
  batch: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  /** Median ms making a step's batch (scenes drawn, views rendered, text tokenized), not in median_ms; null for
   *  PyTorch, whose step runs on tensors made once. */
  data_ms: number | null;
  /** Per step; null for PyTorch, which has no WebGPU queue. */
  dispatches: number | null;
  submits: number | null;
  /** FLOPs of one step, in 1e9: ours counted from the recorded ops' shapes, PyTorch's by its profiler. */
  gflop: number;
  /** gflop over the median step time. */
  gflops: number;
}

/** What a runtime measured of one case: step times in ms, per-step counts, FLOPs of one step. */
export interface MeasuredStep {
  medianMs: number;
  minMs: number;
  maxMs: number;
  dataMs: number | null;
  dispatches: number | null;
  submits: number | null;
  flops: number;
}

export function stepRow(c: StepCase, timing: MeasuredStep, where: Pick<StepRow, 'impl' | 'runtime' | 'adapter'>): StepRow {
  const gflop = timing.flops / 1e9;
  return {
    ...where,
    preset: c.preset,
    mode: c.mode,
    batch: c.batch,
    median_ms: significant(timing.medianMs),
    min_ms: significant(timing.minMs),
    max_ms: significant(timing.maxMs),
    data_ms: timing.dataMs === null ? null : significant(timing.dataMs),
    dispatches: timing.dispatches,
    submits: timing.submits,
    gflop: significant(gflop),
    gflops: significant(gflop / (timing.medianMs / 1000)),
  };
}

/** What one runtime's adapter reached in the same run: its best matmul and its arithmetic ceiling, GFLOP/s. */
export interface AdapterLimits {
  bestMatmul: number;
  ceiling: number;
}

/**
 * One line per row: times, counts, FLOPs, GFLOP/s and its share of the best matmul GFLOP/s and of the arithmetic
 * ceiling measured on the same runtime (`limits`, by runtime; none for PyTorch), and for our rows our time over
 * PyTorch's on the same case.
 */
export function formatStepTable(rows: readonly StepRow[], limits: Readonly<Record<string, AdapterLimits>>): string {
  const header = [
    'impl',
    'runtime',
    'case',
    'median ms',
    'min-max ms',
    '+ batch ms',
    'dispatches',
    'submits',
    'GFLOP',
    'GFLOP/s',
    'of best matmul',
    'of ceiling',
    'ours/torch',
  ];
  const lines = [header];
  for (const r of rows) {
    const limit = limits[r.runtime];
    const share = (gflops: number | undefined) => (gflops ? `${((100 * r.gflops) / gflops).toFixed(1)}%` : '-');
    const torch = r.impl === 'cosmos-web' ? rows.find((t) => t.impl === 'pytorch' && caseName(t) === caseName(r)) : undefined;
    lines.push([
      r.impl,
      r.runtime,
      caseName(r),
      figure(r.median_ms),
      `${figure(r.min_ms)}-${figure(r.max_ms)}`,
      r.data_ms === null ? '-' : figure(r.data_ms),
      r.dispatches === null ? '-' : String(r.dispatches),
      r.submits === null ? '-' : String(r.submits),
      figure(r.gflop),
      figure(r.gflops),
      share(limit?.bestMatmul),
      share(limit?.ceiling),
      torch ? figure(r.median_ms / torch.median_ms) : '-',
    ]);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((cell, i) => (i < 3 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}
