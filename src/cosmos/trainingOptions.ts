/** Training settings and the tiny preset's defaults: a light module, so the app's main thread can read them. */
import type { SceneKinds } from '../data/scenes.ts';
import type { TrainMode } from './objective.ts';
import type { ViewRecipeName } from './views/augment.ts';

export interface TrainingOptions {
  mode: TrainMode;
  steps: number;
  batchSize: number;
  lr: number;
  warmupSteps: number;
  weightDecay: number;
  /** Teacher EMA momentum. */
  momentum: number;
  /** Side of the rendered source scenes the crops are taken from. */
  sourceSize: number;
  localSize: number;
  localCount: number;
  seed: number;
  freezeTowers: boolean;
  /** Which built-in scenes to train on when the user gives no data: every emoji, or the teaching set. */
  scenes: SceneKinds;
  /** How image views are drawn: COSMOS's recipe, or the teaching one that keeps the scenes' captions true. */
  views: ViewRecipeName;
}

/** Settings that train the tiny preset in minutes on a CPU adapter. */
export const TINY_TRAINING: TrainingOptions = {
  mode: 'cosmos',
  steps: 500,
  batchSize: 16,
  lr: 1e-3,
  warmupSteps: 25,
  weightDecay: 0.1,
  momentum: 0.99,
  sourceSize: 96,
  localSize: 32,
  localCount: 2,
  seed: 0,
  freezeTowers: false,
  scenes: 'all',
  views: 'cosmos',
};

/** Linear warmup of a run of `steps`: 5% of it, at least one step (the tiny recipe's 25 of 500). */
export function warmupFor(steps: number): number {
  return Math.max(1, Math.round(steps * 0.05));
}

/**
 * The tiny recipe with the settings given (undefined ones keep the recipe's value) and the warmup of its length:
 * the one rule the app and `cosmos train` both build a run's options with.
 */
export function trainingOptions(settings: { [K in keyof TrainingOptions]?: TrainingOptions[K] | undefined } & { steps: number }): TrainingOptions {
  const given = Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
  return { ...TINY_TRAINING, ...given, warmupSteps: warmupFor(settings.steps) };
}
