/**
 * Which of the two families of kernels an adapter runs. The kernels come in a GPU shape (many small workgroups,
 * tree reductions, the tiled matmul) and a CPU shape (few large workgroups of one SIMD group, no barriers, the
 * 4-lane subgroup matmul), which on SwiftShader is 3-10x faster and on a GPU slower. Until measured
 * (src/tensor/tuneKernels.ts) the choice follows the adapter's own word: a fallback adapter gets the CPU shape.
 */
import type { AdapterSummary } from './acquire.ts';

export interface KernelChoice {
  /** The CPU shape of the flat, row and reduction kernels (workgroups.ts). */
  cpuStyle: boolean;
  /** The matmul kernel: 'subgroups' (shaders/matmul_subgroups.wgsl) only where the adapter offers subgroups. */
  matmul: 'tiled' | 'subgroups';
  /** 'measured' by tuneKernels (now or in an earlier session), or 'assumed' from the adapter's kind. */
  source: 'assumed' | 'measured';
}

export function assumedChoice(adapter: AdapterSummary): KernelChoice {
  const cpu = adapter.isFallbackAdapter;
  return { cpuStyle: cpu, matmul: cpu && adapter.features.includes('subgroups') ? 'subgroups' : 'tiled', source: 'assumed' };
}

/** What a measured choice is stored under: the adapter's identity and features. */
export function adapterKey(adapter: AdapterSummary): string {
  return [
    adapter.vendor,
    adapter.architecture,
    adapter.device,
    adapter.description,
    adapter.isFallbackAdapter ? 'fallback' : '',
    adapter.features.join('+'),
  ].join('|');
}
