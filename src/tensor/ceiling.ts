/**
 * The adapter's arithmetic ceiling: the f32 GFLOP/s of multiply-adds with no memory traffic at all
 * (shaders/ceiling.wgsl), the most any kernel could reach on it. The benchmarks print it beside what the matmul
 * and the training step reach, so that "how close to the adapter's limit" is a measured number, not a guess.
 */
import source from '../../shaders/ceiling.wgsl';
import { shader } from '../gpu/kernel.ts';
import { gpu } from './engine.ts';
import { gpuMedianMs } from './gpuTiming.ts';

const CHAINS = shader('ceiling.wgsl', source);
const WORKGROUP_SIZE = 64;
/** 262,144 invocations: enough to fill a large GPU; a CPU driver runs them a SIMD group at a time. */
const WORKGROUPS = 4096;
const INVOCATIONS = WORKGROUPS * WORKGROUP_SIZE;
/** Six vec4 chains of eight fma steps (2 FLOPs a component) per iteration, in shaders/ceiling.wgsl. */
const FLOPS_PER_ITERATION = 6 * 8 * 4 * 2;
const MAX_ITERATIONS = 1 << 20;

export interface Ceiling {
  gflops: number;
  medianMs: number;
  /** Loop iterations per invocation, doubled until one dispatch takes long enough to time. */
  iterations: number;
  invocations: number;
}

/** FLOPs of one dispatch of `iterations` steps. */
export const ceilingFlops = (iterations: number): number => INVOCATIONS * iterations * FLOPS_PER_ITERATION;

/** Records one dispatch of the chains, `iterations` steps long, into `sums` (INVOCATIONS vec4s). */
function dispatchChains(sums: GPUBuffer, iterations: number): void {
  gpu().dispatch({ kernel: { shader: CHAINS, entry: 'fma_chains' }, buffers: [sums], params: new Uint32Array([iterations]), workgroups: [WORKGROUPS] });
}

async function timeChains(sums: GPUBuffer, iterations: number): Promise<number> {
  const started = performance.now();
  dispatchChains(sums, iterations);
  await gpu().sync();
  return performance.now() - started;
}

/** Every invocation's sum of its six chains after `iterations` steps: what the kernel computes, for its test. */
export async function chainSums(iterations: number): Promise<Float32Array> {
  const sums = gpu().alloc(INVOCATIONS * 16);
  try {
    dispatchChains(sums, iterations);
    return new Float32Array(await gpu().read(sums, INVOCATIONS * 16));
  } finally {
    gpu().release(sums);
  }
}

/**
 * Times the chains: one dispatch to compile the pipeline, then the iteration count doubles until one dispatch
 * takes at least `minMs`, then the median of `reps` dispatches at that count (after one more untimed).
 */
export async function measureCeiling({ minMs = 100, reps = 5 } = {}): Promise<Ceiling> {
  const sums = gpu().alloc(INVOCATIONS * 16);
  try {
    let iterations = 16;
    await timeChains(sums, 1);
    while ((await timeChains(sums, iterations)) < minMs && iterations < MAX_ITERATIONS) iterations *= 2;
    const medianMs = await gpuMedianMs(() => dispatchChains(sums, iterations), reps);
    return { gflops: ceilingFlops(iterations) / medianMs / 1e6, medianMs, iterations, invocations: INVOCATIONS };
  } finally {
    gpu().release(sums);
  }
}
