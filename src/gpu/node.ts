/**
 * The runtime in Node, through Dawn (npm `webgpu`): on a GPU where there is one, else on a Vulkan driver that runs on
 * the CPU: a recent Mesa lavapipe where one is installed, else Chromium's SwiftShader (src/gpu/vulkanDrivers.ts).
 */
import { mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create, globals } from 'webgpu';
import { isFallback } from './acquire.ts';
import { GpuRuntime } from './runtime.ts';
import { type Attempt, type DriverPlan, installedDrivers, planDrivers } from './vulkanDrivers.ts';

let plan: DriverPlan | null = null;
const instances = new Map<string, GPU>();

/** The driver plan, decided once per process: the loader reads VK_ICD_FILENAMES when Dawn first starts. */
function driverPlan(): DriverPlan {
  if (plan) return plan;
  plan = planDrivers(process.env.VK_ICD_FILENAMES, installedDrivers());
  if (plan.icdFiles) process.env.VK_ICD_FILENAMES = plan.icdFiles;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), 'cosmos-web-xdg');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  Object.assign(globalThis, globals);
  return plan;
}

/** One Dawn instance per set of flags, kept: a runtime made again after a lost device reuses it. */
function dawn(flags: readonly string[]): GPU {
  const key = flags.join(' ');
  let gpu = instances.get(key);
  if (!gpu) {
    gpu = create([...flags]) as GPU;
    instances.set(key, gpu);
  }
  return gpu;
}

let pollingThrottled = false;

/**
 * Dawn in Node waits for the GPU (mapAsync, onSubmittedWorkDone) by polling from a native callback that re-queues
 * itself with setImmediate: while a read is pending, the JavaScript thread spins. On a CPU adapter that thread
 * takes the cores the driver computes on (measured here: 1.1 s of the main thread's CPU while waiting 1.7 s for
 * four 1024³ products, which then took 1.0 s with the spin gone). So there its polls, the only native functions
 * handed to setImmediate, go through a 1 ms timer instead: a wait ends up to a millisecond later. Code that
 * captured setImmediate before this (test runners do) is unaffected.
 */
function throttleDawnPolling(): void {
  if (pollingThrottled) return;
  pollingThrottled = true;
  const immediate = globalThis.setImmediate;
  const isNative = (fn: unknown) => typeof fn === 'function' && Function.prototype.toString.call(fn).endsWith('{ [native code] }');
  const throttled = (callback: (...args: unknown[]) => void, ...args: unknown[]) =>
    isNative(callback) ? setTimeout(callback, 1, ...args) : immediate(callback, ...args);
  globalThis.setImmediate = Object.assign(throttled, immediate) as typeof setImmediate;
}

/** Whether the attempt's adapter will do: any adapter, or where only a GPU will, one that is not a fallback. */
async function suits(gpu: GPU, attempt: Attempt): Promise<boolean> {
  if (!attempt.gpuOnly) return true;
  // The adapter GpuRuntime.create asks for (acquireDevice's default preference).
  const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  return adapter !== null && !isFallback(adapter);
}

export async function createNodeRuntime(): Promise<GpuRuntime> {
  const current = driverPlan();
  let runtime: GpuRuntime | null = null;
  let failure: unknown = new Error('no adapter came up');
  for (const attempt of current.attempts) {
    try {
      const gpu = dawn(attempt.flags);
      if (!(await suits(gpu, attempt))) continue;
      runtime = await GpuRuntime.create(gpu);
      // Later runtimes (after a lost device) go straight to the adapter that came up.
      current.attempts = [attempt, ...current.attempts.filter((a) => a !== attempt)];
      break;
    } catch (error) {
      failure = error;
    }
  }
  if (!runtime) {
    const hint = process.env.VK_ICD_FILENAMES
      ? `Vulkan driver: ${process.env.VK_ICD_FILENAMES}. Is libvulkan1 installed (apt-get install -y libvulkan1)?`
      : 'No Vulkan driver found: install Chromium, which carries SwiftShader (apt-get install -y chromium libvulkan1).';
    throw new Error(`No WebGPU adapter in Node. ${hint} (${(failure as Error).message})`, { cause: failure });
  }
  if (runtime.adapter.isFallbackAdapter) throttleDawnPolling();
  return runtime;
}

/**
 * Where tuneKernels keeps this machine's measured kernel choices between CLI sessions: kernel-choice.json under
 * $XDG_CACHE_HOME/cosmos-web (~/.cache/cosmos-web by default).
 */
export function nodeChoiceStore(file = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'cosmos-web', 'kernel-choice.json')) {
  return {
    read: async (): Promise<string | null> =>
      readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? null : Promise.reject(error))),
    write: async (text: string): Promise<void> => {
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, text);
    },
  };
}
