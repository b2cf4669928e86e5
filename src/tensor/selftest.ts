/**
 * The GPU self-test the page shows: y = a * x + y on the device, read back and compared with the same sum in JS.
 * It runs in the engine worker, on the one device the engine trains on.
 */
import selftestWgsl from '../../shaders/selftest.wgsl';
import { shader } from '../gpu/kernel.ts';
import { type GpuRuntime, grid1d } from '../gpu/runtime.ts';

const SELFTEST = shader('selftest.wgsl', selftestWgsl);

/** Not a multiple of the workgroup size (64), so the bounds check in the shader is exercised too. */
export const SELFTEST_N = 100_003;
export const SELFTEST_A = 1.75;
/** Relative to max(1, |expected|): a few float32 ulps, room for a fused multiply-add on the GPU. */
export const SELFTEST_TOLERANCE = 2 ** -20;

export interface SelfTestResult {
  n: number;
  a: number;
  /** Largest |gpu - js| over all elements. */
  maxError: number;
  /** Elements further apart than the tolerance. */
  mismatches: number;
  tolerance: number;
  passed: boolean;
  /** Upload, dispatch and read-back, wall clock. */
  ms: number;
  /** The first few elements side by side. */
  sample: { i: number; gpu: number; js: number }[];
}

function inputs(n: number): { x: Float32Array; y: Float32Array } {
  const x = new Float32Array(n);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x[i] = Math.sin(i * 0.37) * 10;
    y[i] = Math.cos(i * 0.11) * 3 - 1;
  }
  return { x, y };
}

/** y = a * x + y on the GPU through the runtime, compared with the same sum in JS. */
export async function runSelfTest(gpu: GpuRuntime, n = SELFTEST_N, a = SELFTEST_A): Promise<SelfTestResult> {
  const { x, y } = inputs(n);
  const params = new ArrayBuffer(8);
  new Uint32Array(params, 0, 1)[0] = n;
  new Float32Array(params, 4, 1)[0] = a;

  const started = performance.now();
  const xBuf = gpu.alloc(n * 4);
  const yBuf = gpu.alloc(n * 4);
  let out: Float32Array;
  try {
    gpu.write(xBuf, x);
    gpu.write(yBuf, y);
    gpu.dispatch({
      kernel: { shader: SELFTEST, entry: 'saxpy' },
      buffers: [xBuf, yBuf],
      params: new Uint32Array(params),
      workgroups: grid1d(Math.ceil(n / 64)),
    });
    out = new Float32Array(await gpu.read(yBuf, n * 4));
  } finally {
    gpu.release(xBuf);
    gpu.release(yBuf);
  }
  const ms = performance.now() - started;

  const af = Math.fround(a);
  let maxError = 0;
  let mismatches = 0;
  const sample: SelfTestResult['sample'] = [];
  for (let i = 0; i < n; i++) {
    const js = Math.fround(Math.fround(af * x[i]!) + y[i]!);
    const got = out[i]!;
    const error = Math.abs(got - js);
    // NaN compares false with everything: count it as a mismatch explicitly.
    if (!(error <= SELFTEST_TOLERANCE * Math.max(1, Math.abs(js)))) mismatches++;
    if (error > maxError || Number.isNaN(error)) maxError = Number.isNaN(error) ? Infinity : error;
    if (i < 3) sample.push({ i, gpu: got, js });
  }
  return { n, a, maxError, mismatches, tolerance: SELFTEST_TOLERANCE, passed: mismatches === 0, ms, sample };
}
