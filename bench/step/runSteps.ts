/**
 * Our side of `npm run bench:step` on whatever runtime is installed (Dawn in Node, the page's WebGPU in Chromium):
 * the best matmul GFLOP/s of the kernel bench's matmul cases on this adapter and its arithmetic ceiling, then each
 * training step case.
 */
import { CASES, runCases } from '../cases.ts';
import { ceilingRow } from '../ceiling.ts';
import { cosmosWeb } from '../cosmos.ts';
import { type StepCase, caseName } from './cases.ts';
import { type StepRow, stepRow } from './rows.ts';
import { type StepData, timeTrainingStep } from './timeStep.ts';

export interface StepBenchResult {
  rows: StepRow[];
  /** The largest GFLOP/s of the matmul cases (256³, 512³, 1024³) on this adapter, in this run. */
  bestMatmulGflops: number;
  /** f32 multiply-adds with no memory traffic on this adapter (bench/ceiling.ts), in this run. */
  ceilingGflops: number;
}

export async function runSteps(
  cases: readonly StepCase[],
  data: StepData,
  where: { runtime: 'node' | 'chromium'; adapter: string },
  log: (line: string) => void,
): Promise<StepBenchResult> {
  const matmul = await runCases(
    [cosmosWeb],
    log,
    CASES.filter((c) => c.op === 'matmul'),
  );
  const bestMatmulGflops = Math.max(...matmul.rows.map((r) => r.gflops));
  log(`best matmul on this adapter: ${bestMatmulGflops} GFLOP/s`);
  const ceilingGflops = (await ceilingRow(log)).gflops;
  const rows: StepRow[] = [];
  for (const c of cases) {
    log(`${caseName(c)} (${where.runtime}): ${c.warmup} warm-up + ${c.reps} timed steps`);
    const timing = await timeTrainingStep(c, data, log);
    rows.push(stepRow(c, timing, { impl: 'cosmos-web', ...where }));
  }
  return { rows, bestMatmulGflops, ceilingGflops };
}
