/**
 * The runtime in Node, through Dawn (npm `webgpu`). On a machine without a GPU, Dawn needs a Vulkan driver:
 * Chromium's SwiftShader is the one Dawn accepts here (Debian's lavapipe in mesa 22 is rejected).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

export async function createNodeRuntime(): Promise<GpuRuntime> {
  try {
    return await GpuRuntime.create(nodeGpu());
  } catch (error) {
    const hint = existsSync(SWIFTSHADER_ICD)
      ? `Vulkan driver: ${process.env.VK_ICD_FILENAMES}. Is libvulkan1 installed (apt-get install -y libvulkan1)?`
      : 'No Vulkan driver found: install Chromium, which carries SwiftShader (apt-get install -y chromium libvulkan1).';
    throw new Error(`No WebGPU adapter in Node. ${hint} (${(error as Error).message})`, { cause: error });
  }
}
