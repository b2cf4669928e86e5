import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shader } from './kernel.ts';
import { createNodeRuntime } from './node.ts';
import { GpuKernelError } from './errors.ts';
import type { GpuRuntime } from './runtime.ts';

const SCALE = shader(
  'test-scale.wgsl',
  /* wgsl */ `
struct Params { n: u32, factor: f32 }
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3u) {
  if (id.x < p.n) { y[id.x] = x[id.x] * p.factor; }
}`,
);

const BROKEN = shader('test-broken.wgsl', '@compute @workgroup_size(1) fn main() { let a: f32 = 1u; }');

let gpu: GpuRuntime;
beforeAll(async () => {
  gpu = await createNodeRuntime();
});
afterAll(() => gpu?.destroy());

function params(n: number, factor: number): Uint32Array {
  const words = new Uint32Array(2);
  words[0] = n;
  new Float32Array(words.buffer)[1] = factor;
  return words;
}

describe('GpuRuntime on the Dawn adapter', () => {
  it('finds an adapter and raises its limits past the defaults', () => {
    expect(gpu.adapter.limits.maxStorageBufferBindingSize).toBeGreaterThan(128 * 1024 * 1024);
    expect(gpu.device.limits.maxStorageBufferBindingSize).toBe(gpu.adapter.limits.maxStorageBufferBindingSize);
    expect(gpu.device.limits.maxBufferSize).toBe(gpu.adapter.limits.maxBufferSize);
  });

  it('runs a compute shader and reads the result back', async () => {
    const n = 1000;
    const input = Float32Array.from({ length: n }, (_, i) => i - 500.5);
    const x = gpu.alloc(n * 4);
    const y = gpu.alloc(n * 4);
    gpu.write(x, input);
    gpu.dispatch({ kernel: { shader: SCALE, entry: 'main' }, buffers: [x, y], params: params(n, -2.5), workgroups: [Math.ceil(n / 64)] });
    const out = new Float32Array(await gpu.read(y, n * 4));
    expect(Array.from(out)).toEqual(Array.from(input, (v) => Math.fround(v * -2.5)));
    gpu.release(x);
    gpu.release(y);
  });

  it('compiles each pipeline once and reuses buffers and uniforms across a long loop', async () => {
    const n = 256;
    const x = gpu.alloc(n * 4);
    gpu.write(x, new Float32Array(n).fill(1));
    const run = () => {
      const y = gpu.alloc(n * 4);
      gpu.dispatch({ kernel: { shader: SCALE, entry: 'main' }, buffers: [x, y], params: params(n, 3), workgroups: [4] });
      gpu.release(y);
    };
    run();
    await gpu.sync();
    const before = gpu.memory();
    for (let i = 0; i < 2000; i++) run();
    await gpu.sync();
    expect(gpu.memory()).toEqual(before);
    gpu.release(x);
  });

  it('hands out a free buffer up to twice the size asked for before it creates one', () => {
    gpu.trim();
    const big = gpu.alloc(40_000); // size class 40,960
    gpu.release(big);
    const created = gpu.memory().totalBytes;
    const smaller = gpu.alloc(24_000); // class 24,576: the free 40,960 is within two times
    expect(smaller).toBe(big);
    expect(gpu.memory().totalBytes).toBe(created);
    expect(gpu.memory().liveBytes).toBe(big.size);
    gpu.release(smaller);
    const small = gpu.alloc(16_000); // class 16,384: 40,960 is past two times, so a new buffer
    expect(small).not.toBe(big);
    expect(gpu.memory().totalBytes).toBe(created + small.size);
    gpu.release(small);
    gpu.trim();
  });

  it('counts the dispatches it records and the command buffers it submits', async () => {
    const n = 64;
    const x = gpu.alloc(n * 4);
    const y = gpu.alloc(n * 4);
    await gpu.sync();
    const before = gpu.commands();
    for (let i = 0; i < 3; i++) gpu.dispatch({ kernel: { shader: SCALE, entry: 'main' }, buffers: [x, y], params: params(n, 2), workgroups: [1] });
    gpu.dispatch({ kernel: { shader: SCALE, entry: 'main' }, buffers: [x, y], params: params(n, 2), workgroups: [0] }); // empty: skipped
    await gpu.sync();
    await gpu.sync(); // nothing recorded: nothing submitted
    const after = gpu.commands();
    expect({ dispatches: after.dispatches - before.dispatches, submits: after.submits - before.submits }).toEqual({ dispatches: 3, submits: 1 });
    gpu.release(x);
    gpu.release(y);
  });

  it('reports a WGSL error as an exception naming the shader', async () => {
    const y = gpu.alloc(16);
    gpu.dispatch({ kernel: { shader: BROKEN, entry: 'main' }, buffers: [], workgroups: [1] });
    const error = await gpu.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuKernelError);
    expect(String((error as Error).message)).toContain('test-broken.wgsl');
    gpu.release(y);
    await gpu.sync(); // the error was reported once; the runtime goes on
  });

  it('reports a validation error naming the kernel', async () => {
    const x = gpu.alloc(16);
    // Binding the output as the only buffer leaves binding 2 missing: a validation error.
    gpu.dispatch({ kernel: { shader: SCALE, entry: 'main' }, buffers: [x], params: params(4, 1), workgroups: [1] });
    const error = await gpu.sync().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuKernelError);
    expect(String((error as Error).message)).toContain('test-scale.wgsl:main');
    gpu.release(x);
  });

  it('refuses a tensor larger than the adapter can bind, with a sentence that says so', () => {
    expect(() => gpu.alloc(gpu.limits.maxBufferSize + 4)).toThrow(/does not fit in one buffer on this GPU adapter/);
  });
});

describe('device loss', () => {
  it('is reported to listeners and makes later calls throw', async () => {
    const own = await createNodeRuntime();
    const lost = new Promise((resolve) => own.onLost(resolve));
    own.destroy();
    const error = await lost;
    expect(String((error as Error).message)).toMatch(/GPU device was lost \(destroyed/);
    expect(() => own.alloc(16)).toThrow(/GPU device was lost/);
  });
});
