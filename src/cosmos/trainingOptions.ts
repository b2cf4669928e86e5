/** Training settings and the tiny preset's defaults: a light module, so the app's main thread can read them. */
import type { TrainMode } from './objective.ts';

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
};
