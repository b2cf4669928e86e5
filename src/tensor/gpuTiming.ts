/** Wall-clock timing of GPU work from the host, for the kernel tuner and the ceiling measurement. */
import { gpu } from './engine.ts';
import { scope } from './scope.ts';

/**
 * Median wall time of `work` (recorded inside a scope) with the GPU waited for before and after, over `reps` runs
 * that follow one untimed run, which compiles its pipelines.
 */
export async function gpuMedianMs(work: () => void, reps: number): Promise<number> {
  const times: number[] = [];
  for (let rep = -1; rep < reps; rep++) {
    await gpu().sync();
    const started = performance.now();
    scope(work);
    await gpu().sync();
    if (rep >= 0) times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b)[Math.floor(reps / 2)]!;
}
