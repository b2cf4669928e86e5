import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeRuntime, nodeChoiceStore } from './node.ts';
import type { GpuRuntime } from './runtime.ts';

let gpu: GpuRuntime;
beforeAll(async () => {
  gpu = await createNodeRuntime();
});
afterAll(() => gpu?.destroy());

describe('Node runtime', () => {
  it('on a CPU adapter, sends native callbacks handed to setImmediate (Dawn polling for the GPU) through a timer, and nothing else', async () => {
    // A bound function prints as native code, as Dawn's polling callback does.
    const native = (() => undefined).bind(null);
    const polled = setImmediate(native);
    const scripted = setImmediate(() => undefined);
    expect(polled.constructor.name).toBe(gpu.adapter.isFallbackAdapter ? 'Timeout' : 'Immediate');
    expect(scripted.constructor.name).toBe('Immediate');
    clearTimeout(polled as unknown as NodeJS.Timeout);
    clearImmediate(scripted);
    // GPU waits still end: a buffer written, copied back and read.
    const buffer = gpu.alloc(16);
    gpu.write(buffer, Float32Array.of(1, 2, 3, 4));
    expect(Array.from(new Float32Array(await gpu.read(buffer, 16)))).toEqual([1, 2, 3, 4]);
    await gpu.sync();
    gpu.release(buffer);
  });
});

describe('the kernel choice file', () => {
  it('reads null while missing, creates its folders on the first write, reads back what was written', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kernel-choice-'));
    try {
      const store = nodeChoiceStore(join(dir, 'cache', 'cosmos-web', 'kernel-choice.json'));
      expect(await store.read()).toBeNull();
      await store.write('{"version": 1}');
      expect(await store.read()).toBe('{"version": 1}');
      // Anything but a missing file is an error of its own (tuneKernels then measures again).
      await expect(nodeChoiceStore(dir).read()).rejects.toThrow(/EISDIR/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
