/**
 * The training steps `npm run bench:step` times, and the flags that narrow them. A step of the ViT-B/32 shape takes
 * minutes on a CPU adapter: it gets one warm-up and two timed steps unless told otherwise.
 */
import type { TrainMode } from '../../src/cosmos/objective.ts';
import { PRESETS, type PresetName } from '../../src/cosmos/presets.ts';
import { type TrainingOptions, trainingOptions } from '../../src/cosmos/trainingOptions.ts';

export interface StepCase {
  preset: PresetName;
  mode: TrainMode;
  batch: number;
  /** Untimed steps first: the first compiles the pipelines and fills the buffer pool. */
  warmup: number;
  reps: number;
}

export const STEP_CASES: readonly StepCase[] = [
  { preset: 'tiny', mode: 'cosmos', batch: 16, warmup: 2, reps: 5 },
  { preset: 'tiny', mode: 'clip', batch: 16, warmup: 2, reps: 5 },
  { preset: 'ViT-B/32', mode: 'cosmos', batch: 2, warmup: 1, reps: 2 },
];

export interface StepSelection {
  /** Only the cases of this preset. */
  only?: string | undefined;
  /** Timed steps per case, in place of each case's own. */
  reps?: number | undefined;
  /** Warm-up steps per case, in place of each case's own. */
  warmup?: number | undefined;
}

export function selectCases({ only, reps, warmup }: StepSelection): StepCase[] {
  const presets = [...new Set(STEP_CASES.map((c) => c.preset))];
  if (only !== undefined && !presets.includes(only as PresetName)) throw new Error(`--only takes one of ${presets.join(', ')}, not "${only}"`);
  if (reps !== undefined && !(Number.isInteger(reps) && reps >= 1)) throw new Error(`--reps takes a whole number of steps from 1, not ${reps}`);
  if (warmup !== undefined && !(Number.isInteger(warmup) && warmup >= 1)) {
    throw new Error(`--warmup takes a whole number of steps from 1 (the first compiles the pipelines), not ${warmup}`);
  }
  return STEP_CASES.filter((c) => only === undefined || c.preset === only).map((c) => ({ ...c, reps: reps ?? c.reps, warmup: warmup ?? c.warmup }));
}

/** The tiny recipe at the case's mode and batch, sources at least the image size: what `cosmos train` runs. */
export function caseOptions(c: StepCase): TrainingOptions {
  const options = trainingOptions({ mode: c.mode, batchSize: c.batch, steps: c.warmup + c.reps });
  options.sourceSize = Math.max(options.sourceSize, PRESETS[c.preset].vision.imageSize);
  return options;
}

/** "tiny cosmos b16": how the table and the log name a case. */
export const caseName = (c: { preset: string; mode: string; batch: number }): string => `${c.preset} ${c.mode} b${c.batch}`;
