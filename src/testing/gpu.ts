/** One Dawn runtime per test file, installed as the engine's runtime. */
import { afterAll, beforeAll } from 'vitest';
import { createNodeRuntime } from '../gpu/node.ts';
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
 * Inside the calling describe block, makes kernels that size their workgroups by adapter kind (rowGroup) see the
 * adapter as a CPU fallback or a GPU, so the same fixtures run under both shapes of workgroup.
 */
export function asFallbackAdapter(testGpu: () => GpuRuntime, fallback: boolean): void {
  let adapterWas = true;
  beforeAll(() => {
    adapterWas = testGpu().adapter.isFallbackAdapter;
    testGpu().adapter.isFallbackAdapter = fallback;
  });
  afterAll(() => {
    testGpu().adapter.isFallbackAdapter = adapterWas;
  });
}
