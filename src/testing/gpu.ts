/** One Dawn runtime per test file, installed as the engine's runtime. */
import { afterAll, beforeAll } from 'vitest';
import { createNodeRuntime } from '../gpu/node.ts';
import { type KernelChoice, assumedChoice } from '../gpu/kernelChoice.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { installRuntime } from '../tensor/engine.ts';

export function setupTestGpu(): () => GpuRuntime {
  let runtime: GpuRuntime | null = null;
  beforeAll(async () => {
    runtime = await createNodeRuntime();
    installRuntime(runtime);
  });
  afterAll(() => runtime?.destroy());
  return () => {
    if (!runtime) throw new Error('the test GPU is not ready');
    return runtime;
  };
}

/**
 * Inside the calling describe block, makes the ops dispatch the kernels a CPU fallback adapter or a GPU is assumed to
 * get (src/gpu/kernelChoice.ts: workgroup shapes, the matmul kernel), so the same fixtures run under both.
 */
export function asFallbackAdapter(testGpu: () => GpuRuntime, fallback: boolean): void {
  let choiceWas: KernelChoice | null = null;
  beforeAll(() => {
    const runtime = testGpu();
    choiceWas = runtime.kernels;
    runtime.kernels = assumedChoice({ ...runtime.adapter, isFallbackAdapter: fallback });
  });
  afterAll(() => {
    if (choiceWas) testGpu().kernels = choiceWas;
  });
}
