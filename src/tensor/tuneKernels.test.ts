import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { adapterKey, assumedChoice } from '../gpu/kernelChoice.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { type ChoiceStore, tuneKernels } from './tuneKernels.ts';

const testGpu = setupTestGpu();

function memoryChoiceStore(text: string | null = null): ChoiceStore & { text: string | null; writes: number } {
  const store = {
    text,
    writes: 0,
    read: async () => store.text,
    write: async (t: string) => {
      store.text = t;
      store.writes++;
    },
  };
  return store;
}

/** Counts the dispatches `fn` makes. */
async function dispatchesOf(fn: () => Promise<unknown>): Promise<number> {
  const before = testGpu().commands().dispatches;
  await fn();
  return testGpu().commands().dispatches - before;
}

// SwiftShader calls itself a fallback adapter, which tuneKernels does not measure: these tests take its word away, as
// a CPU driver that does not give it (lavapipe) would, and check that measuring finds what a fallback is assumed to be.
describe('measuring the kernel family of an adapter', () => {
  let fallback = true;
  beforeEach(() => {
    fallback = testGpu().adapter.isFallbackAdapter;
    testGpu().adapter.isFallbackAdapter = false;
    testGpu().kernels = assumedChoice(testGpu().adapter);
  });
  afterEach(() => {
    testGpu().adapter.isFallbackAdapter = fallback;
    testGpu().kernels = assumedChoice(testGpu().adapter);
  });

  it('finds the CPU shape faster on SwiftShader taken for a GPU, takes the matmul its trial found clearly faster, and keeps the measurement', async () => {
    const runtime = testGpu();
    expect(runtime.kernels).toMatchObject({ cpuStyle: false, matmul: 'tiled' });
    const store = memoryChoiceStore();
    const tuning = await tuneKernels(store);
    const hasSubgroups = runtime.adapter.features.includes('subgroups');
    // SwiftShader runs a workgroup as a task on a core: barriers and many small workgroups cost 4-6x more, a margin
    // no load on the machine has upset. The two matmuls are nearer (1.2-1.4x, measured): under load from elsewhere
    // either may win a trial, so the test holds the choice to its own measurement, the other shape taken only when
    // clearly faster.
    expect(tuning.ms['rows cpu']).toBeLessThan(tuning.ms['rows gpu']!);
    const subgroupsClearlyFaster = hasSubgroups && tuning.ms['matmul subgroups']! < 0.9 * tuning.ms['matmul tiled']!;
    expect(tuning.choice).toEqual({ cpuStyle: true, matmul: subgroupsClearlyFaster ? 'subgroups' : 'tiled', source: 'measured' });
    expect(runtime.kernels).toBe(tuning.choice);
    expect(tuning.how).toBe('measured now');
    const saved = JSON.parse(store.text!) as { adapters: Record<string, unknown> };
    expect(Object.keys(saved.adapters)).toEqual([adapterKey(runtime.adapter)]);

    // The next session reads it back without dispatching anything.
    runtime.kernels = assumedChoice(runtime.adapter);
    let again: Awaited<ReturnType<typeof tuneKernels>> | null = null;
    expect(await dispatchesOf(async () => (again = await tuneKernels(store)))).toBe(0);
    expect(again!).toEqual({ ...tuning, how: 'read back' });
    expect(store.writes).toBe(1);
  });

  it('measures again when the store holds another version, a corrupt entry or garbage, and goes on when it can neither read nor write', async () => {
    const runtime = testGpu();
    const key = adapterKey(runtime.adapter);
    const stale = JSON.stringify({ version: 0, adapters: { [key]: { cpuStyle: false, matmul: 'tiled', ms: {} } } });
    const corrupt = JSON.stringify({ version: 1, adapters: { [key]: { cpuStyle: 'yes', matmul: 'fastest', ms: null } } });
    for (const text of [stale, corrupt, '{"version": 1']) {
      const store = memoryChoiceStore(text);
      expect(await dispatchesOf(() => tuneKernels(store))).toBeGreaterThan(0);
      expect(runtime.kernels).toMatchObject({ cpuStyle: true, source: 'measured' });
    }
    const broken: ChoiceStore = {
      read: () => Promise.reject(new Error('unreadable')),
      write: () => Promise.reject(new Error('read-only')),
    };
    expect((await tuneKernels(broken)).choice).toMatchObject({ cpuStyle: true, source: 'measured' });
  });

  it('leaves a fallback adapter with the CPU shape, unmeasured', async () => {
    const runtime = testGpu();
    runtime.adapter.isFallbackAdapter = true;
    runtime.kernels = assumedChoice(runtime.adapter);
    const store = memoryChoiceStore();
    expect(await dispatchesOf(async () => expect((await tuneKernels(store)).how).toBe('fallback adapter'))).toBe(0);
    expect(runtime.kernels).toMatchObject({ cpuStyle: true, source: 'assumed' });
    expect(store.writes).toBe(0);
  });
});
