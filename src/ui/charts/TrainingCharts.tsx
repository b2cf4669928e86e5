import type { EvalPoint, StepPoint } from '../../worker/runLog.ts';
import { LineChart } from './LineChart.tsx';
import type { Point, Series } from './series.ts';

const MiB = 1024 * 1024;
const percent = (v: number): string => `${Number((v * 100).toPrecision(3))}%`;
const ms = (v: number): string => (v >= 1000 ? `${Number((v / 1000).toPrecision(3))} s` : `${Math.round(v)} ms`);
const mib = (v: number): string => `${Number(v.toPrecision(3))} MiB`;

/** Series colors: custom properties, so that the dark scheme has its own. */
const C = ['var(--series-1)', 'var(--series-2)', 'var(--series-3)', 'var(--series-4)'] as const;

function series<T>(name: string, color: string, rows: readonly T[], x: (r: T) => number, y: (r: T) => number, dashed = false): Series {
  const points: Point[] = rows.map((r) => [x(r), y(r)]);
  return { name, color, points, dashed };
}

interface TrainingChartsProps {
  history: readonly StepPoint[];
  evals: readonly EvalPoint[];
  /** The run's length: the x axes grow toward it as the steps come. */
  steps: number;
  /** CLIP mode has no COSMOS loss and trains no distillation temperature. */
  cosmos: boolean;
  evalEvery: number;
}

/** The live charts of a run: losses, temperatures, learning rate, speed, held-out recall and GPU memory. */
export function TrainingCharts({ history, evals, steps, cosmos, evalEvery }: TrainingChartsProps) {
  // A quarter ahead of the last step (at least 10 steps, at most the run): early steps fill the width, not a corner.
  const last = history.at(-1)?.step ?? 0;
  const xDomain: [number, number] = [0, Math.max(1, Math.min(steps, Math.max(10, Math.ceil(last * 1.25))))];
  const at = (r: StepPoint) => r.step;
  const byStep = <K extends keyof StepPoint>(name: string, color: string, key: K, dashed = false) =>
    series(name, color, history, at, (r) => r[key] as number, dashed);
  // Metrics the data cannot measure (pointing on the user's images) are null: those points are left out.
  const byEval = (name: string, color: string, key: keyof EvalPoint, dashed = false) =>
    series(
      name,
      color,
      evals.filter((r) => r[key] !== null),
      (r) => r.step,
      (r) => r[key] as number,
      dashed,
    );
  const pointing = evals.some((r) => r.pointing_cross_attention !== null);
  // Steps that changed nothing (NaN or infinity in the loss or a gradient): red lines on the loss chart.
  const skipped = history.filter((r) => r.skipped).map((r) => r.step);

  return (
    <div className="charts" data-testid="train-charts">
      <LineChart
        title={skipped.length ? `Loss (${skipped.length} step${skipped.length === 1 ? '' : 's'} skipped)` : 'Loss'}
        testId="chart-loss"
        xDomain={xDomain}
        marks={{ xs: skipped, label: 'skipped: NaN or infinity in the loss or a gradient' }}
        series={[byStep('total', C[0], 'total'), byStep('clip', C[1], 'clip', true), ...(cosmos ? [byStep('cosmos', C[2], 'cosmos', true)] : [])]}
      />
      <LineChart
        title="Logit scales exp(s) = 1 / temperature"
        testId="chart-temperature"
        xDomain={xDomain}
        series={[byStep('exp(logit_scale)', C[0], 'temperature'), ...(cosmos ? [byStep('exp(distill_logit_scale)', C[2], 'distillTemperature', true)] : [])]}
      />
      <LineChart title="Learning rate" testId="chart-lr" xDomain={xDomain} fromZero series={[byStep('lr', C[0], 'lr')]} />
      <LineChart
        title={`Held-out Recall (every ${evalEvery} steps)`}
        testId="chart-recall"
        xDomain={xDomain}
        yDomain={[0, 1]}
        formatY={percent}
        emptyText={`Measured every ${evalEvery} steps on the held-out pairs.`}
        series={[
          byEval('i→t R@1', C[0], 'i2t_r1'),
          byEval('i→t R@5', C[0], 'i2t_r5', true),
          byEval('t→i R@1', C[3], 't2i_r1'),
          byEval('t→i R@5', C[3], 't2i_r5', true),
        ]}
      />
      {pointing && (
        <LineChart
          title={`Held-out pointing game (every ${evalEvery} steps)`}
          testId="chart-pointing"
          xDomain={xDomain}
          yDomain={[0, 1]}
          formatY={percent}
          series={[byEval('cross-attention', C[2], 'pointing_cross_attention'), byEval('dense', C[1], 'pointing_dense', true)]}
        />
      )}
      <LineChart title="Throughput" testId="chart-throughput" xDomain={xDomain} fromZero series={[byStep('samples/s', C[1], 'samplesPerSecond')]} />
      <LineChart title="Step time" testId="chart-step-time" xDomain={xDomain} fromZero formatY={ms} series={[byStep('step', C[2], 'stepMs')]} />
      <LineChart
        title="GPU memory"
        testId="chart-memory"
        xDomain={xDomain}
        fromZero
        formatY={mib}
        series={[
          series('in use', C[0], history, at, (r) => r.memory.liveBytes / MiB),
          series('pool', C[1], history, at, (r) => r.memory.totalBytes / MiB, true),
        ]}
      />
    </div>
  );
}
