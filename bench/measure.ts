/**
 * Timing: warm up (pipeline compilation, first pool allocations, first uploads), then time single repetitions,
 * each ended by waiting for the GPU queue to drain, and report their median.
 */

/** How many repetitions a case gets: at least `minReps`, then more while under `budgetMs`, at most `maxReps`. */
export interface Budget {
  readonly warmup: number;
  readonly minReps: number;
  readonly maxReps: number;
  readonly budgetMs: number;
}

export interface Timing {
  readonly medianMs: number;
  readonly reps: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error('median of no values');
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** `rep` runs one repetition and resolves once the GPU has finished it. */
export async function timeMedian(rep: () => Promise<void>, budget: Budget): Promise<Timing> {
  for (let i = 0; i < budget.warmup; i++) await rep();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < budget.maxReps && (times.length < budget.minReps || performance.now() - start < budget.budgetMs)) {
    const t0 = performance.now();
    await rep();
    times.push(performance.now() - t0);
  }
  return { medianMs: median(times), reps: times.length };
}

/**
 * Wraps a repetition so that the run fails if it leaves memory behind: `liveBytes` (the implementation's own
 * count of bytes in use) must not grow from one repetition to the next.
 */
export function steady(rep: () => Promise<void>, liveBytes: () => number, impl: string): () => Promise<void> {
  let live: number | null = null;
  return async () => {
    await rep();
    const now = liveBytes();
    if (live !== null && now > live) throw new Error(`bench: ${impl} memory grew from ${live} to ${now} bytes in one repetition`);
    live = now;
  };
}
