/**
 * How far an evaluation is, for the CLI's progress line and the page's progress bar: the phase, items done of how
 * many (or, for shards, the fraction of their bytes read), the rate so far and the time left at that rate.
 */

export type EvalPhase = 'class prompts' | 'images' | 'captions' | 'ranking';

export interface EvalProgress {
  phase: EvalPhase;
  /** Items done in this phase (classes, images, captions). */
  done: number;
  /** Items in this phase, when known. */
  total: number | null;
  /** Of the phase, 0..1, when known (from `total`, or from bytes read). */
  fraction: number | null;
  /** Items per second in this phase so far. */
  rate: number;
  /** Seconds left in this phase at that rate; null when unknown. */
  eta: number | null;
}

/** Counts a phase's items and says how far it is. `now` is a clock in milliseconds (a fake one in tests). */
export class ProgressMeter {
  private done = 0;
  private fraction: number | null = null;
  private readonly started: number;

  constructor(
    readonly phase: EvalPhase,
    private readonly total: number | null,
    private readonly report: ((p: EvalProgress) => void) | undefined,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.started = now();
  }

  /** `count` more items done; `fraction` overrides done / total (shards: their bytes read). */
  advance(count: number, fraction?: number): void {
    this.done += count;
    if (fraction !== undefined) this.fraction = fraction;
    this.report?.(this.progress());
  }

  get seconds(): number {
    return (this.now() - this.started) / 1000;
  }

  progress(): EvalProgress {
    const seconds = this.seconds;
    const fraction = this.total !== null ? (this.total === 0 ? 1 : this.done / this.total) : this.fraction;
    const eta = fraction !== null && fraction > 0 ? (seconds * (1 - fraction)) / fraction : null;
    return { phase: this.phase, done: this.done, total: this.total, fraction, rate: seconds > 0 ? this.done / seconds : 0, eta };
  }
}

/** "1m 05s", "2h 03m", "12s". */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line: "images 1,200/5,000 (24%), 31.4/s, 2m 01s left". */
export function progressLine(p: EvalProgress): string {
  const count = p.total !== null ? `${p.done.toLocaleString('en')}/${p.total.toLocaleString('en')}` : p.done.toLocaleString('en');
  const percent = p.fraction !== null ? ` (${Math.floor(p.fraction * 100)}%)` : '';
  const eta = p.eta !== null ? `, ${formatDuration(p.eta)} left` : '';
  return `${p.phase} ${count}${percent}, ${p.rate.toFixed(1)}/s${eta}`;
}
