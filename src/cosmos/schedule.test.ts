import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { learningRate } from './schedule.ts';

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
