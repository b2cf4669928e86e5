/**
 * The runtime in Node, through Dawn (npm `webgpu`). On a machine without a GPU, Dawn needs a Vulkan driver:
 * Chromium's SwiftShader is the one Dawn accepts here (Debian's lavapipe in mesa 22 is rejected).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { create, globals } from 'webgpu';
import { GpuRuntime } from './runtime.ts';

export const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

let gpu: GPU | null = null;

function nodeGpu(): GPU {
  if (gpu) return gpu;
  if (!process.env.VK_ICD_FILENAMES && existsSync(SWIFTSHADER_ICD)) process.env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
  if (!process.env.XDG_RUNTIME_DIR) {
    const dir = join(tmpdir(), 'cosmos-web-xdg');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env.XDG_RUNTIME_DIR = dir;
  }
  Object.assign(globalThis, globals);
  gpu = create([]) as GPU;
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

export async function createNodeRuntime(): Promise<GpuRuntime> {
  let runtime: GpuRuntime;
  try {
    runtime = await GpuRuntime.create(nodeGpu());
  } catch (error) {
    const hint = existsSync(SWIFTSHADER_ICD)
      ? `Vulkan driver: ${process.env.VK_ICD_FILENAMES}. Is libvulkan1 installed (apt-get install -y libvulkan1)?`
      : 'No Vulkan driver found: install Chromium, which carries SwiftShader (apt-get install -y chromium libvulkan1).';
    throw new Error(`No WebGPU adapter in Node. ${hint} (${(error as Error).message})`, { cause: error });
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
