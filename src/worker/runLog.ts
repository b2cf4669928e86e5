/**
 * What the training charts draw: each step's record and each held-out evaluation. The worker keeps it with the
 * run and saves it beside the autosave, so that a run resumed after a reload shows its whole history. A long run
 * is thinned to at most MAX_POINTS points a series (every other older point dropped, the latest always kept): the
 * curve keeps its shape while the chart, the messages and the saved file stay small.
 */
import type { StepRecord } from '../cosmos/training.ts';
import type { HeldOutRecord } from '../eval/heldOut.ts';
import type { MemoryStats } from '../gpu/runtime.ts';

export interface StepPoint extends StepRecord {
  memory: MemoryStats;
}

export interface EvalPoint extends HeldOutRecord {
  step: number;
}

export interface RunLog {
  steps: StepPoint[];
  evals: EvalPoint[];
}

export const MAX_POINTS = 4000;

export const emptyLog = (): RunLog => ({ steps: [], evals: [] });

/** `points` and then `point`; when `points` is full, every other one of them is dropped first. */
export function appendThinned<T>(points: readonly T[], point: T, max = MAX_POINTS): T[] {
  if (points.length < max) return [...points, point];
  // Counted back from the newest point, which stays: the chart still ends where the run is.
  const last = points.length - 1;
  return [...points.filter((_, i) => (last - i) % 2 === 0), point];
}
