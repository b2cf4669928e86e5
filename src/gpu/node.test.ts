import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNodeRuntime } from './node.ts';
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
