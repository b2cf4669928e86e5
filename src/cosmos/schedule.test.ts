import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { learningRate } from './schedule.ts';
import { TINY_TRAINING, trainingOptions, warmupFor } from './trainingOptions.ts';

const { cases } = JSON.parse(readFileSync(join(import.meta.dirname, '..', '..', 'fixtures', 'schedule.json'), 'utf8')) as {
  cases: { base_lr: number; warmup: number; steps: number; lr: [number, number][] }[];
};

describe("the learning-rate schedule against OpenCLIP's cosine_lr", () => {
  for (const c of cases) {
    it(`base ${c.base_lr}, warmup ${c.warmup}, ${c.steps} steps`, () => {
      for (const [step, lr] of c.lr) expect(learningRate(step, c.base_lr, c.warmup, c.steps)).toBeCloseTo(lr, 15);
    });
  }
});

describe('one warmup rule for the app and the CLI', () => {
  it('warms up for 5% of the steps, at least one; unset settings keep the tiny recipe', () => {
    expect([1, 10, 120, 500, 2000].map(warmupFor)).toEqual([1, 1, 6, 25, 100]);
    const options = trainingOptions({ steps: 120, lr: undefined, batchSize: 8 });
    expect(options).toEqual({ ...TINY_TRAINING, steps: 120, batchSize: 8, warmupSteps: 6 });
    // The first step's learning rate is base / warmup, wherever the run is built.
    expect(learningRate(0, options.lr, options.warmupSteps, options.steps)).toBeCloseTo(TINY_TRAINING.lr / 6, 15);
  });
});
