/**
 * Every reader of files people bring, against mutated real files: 10,000 cases in all per run, each with its own
 * seeded stream (case i is the same file on every run). None may crash, take longer than SLOW_MS, or read or
 * decode more than a fixed multiple of the file's size; a refusal is a FileError or UserDataError in one line
 * that names the file. scripts/fuzz.ts runs the same targets by the million.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILURES, type TargetStats, emptyStats, record, runCase } from './harness.ts';
import { CASE_FILE_NAMES, CASE_SHARES as CASES, type FuzzTarget, fuzzTargets } from './targets.ts';

/** Far above any case's time on a loaded 2-core machine (the slowest take about a second there). */
const SLOW_MS = 10_000;
const SEED = 14;

const describeFailures = (stats: TargetStats) =>
  stats.failures
    .map((f) => `case ${f.index} (replay: node --import tsx scripts/fuzz.ts --replay ${f.target}:${f.index} --seed ${SEED}): ${f.outcome}: ${f.message}`)
    .join('\n');

let targets: FuzzTarget[] = [];
const warn = console.warn;
beforeAll(async () => {
  targets = await fuzzTargets();
  // pickleparser warns on the console about 64-bit lengths past 2^53, which hostile pickles are full of.
  console.warn = () => {};
});
afterAll(() => {
  console.warn = warn;
});

describe('fuzzing every reader with mutated real files', () => {
  it('covers 10,000 cases in all', () => {
    expect(Object.values(CASES).reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  for (const [name, count] of Object.entries(CASES)) {
    it(`${name}: ${count} cases, no crash, no hang, every refusal a typed sentence naming the file`, { timeout: 600_000 }, async () => {
      const target = targets.find((t) => t.name === name)!;
      const stats = emptyStats(target);
      for (let i = 0; i < count; i++) record(stats, await runCase(target, i, SEED, SLOW_MS), CASE_FILE_NAMES);
      expect(stats.cases).toBe(count);
      expect(
        FAILURES.map((f) => stats.outcomes[f]).reduce((a, b) => a + b),
        describeFailures(stats),
      ).toBe(0);
      // The mutations reach past the first check: many kinds of refusal (or of skipped file), and often.
      expect(stats.kinds.size).toBeGreaterThan(1);
      expect(stats.turnedAway).toBeGreaterThan(count / 20);
    });
  }
});
