import type { AdapterSummary } from '../src/gpu/acquire.ts';
import type { Tuning } from '../src/tensor/tuneKernels.ts';

/** "vendor / architecture / device: description (fallback adapter)", skipping what the adapter leaves empty. */
export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || 'unnamed adapter';
  return `${name}${a.description ? `: ${a.description}` : ''}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}

/** "kernels: CPU shape, subgroup matmul (fallback adapter)": which family tuneKernels left this adapter with, and how. */
export function describeKernels({ choice, how }: Tuning): string {
  return `kernels: ${choice.cpuStyle ? 'CPU' : 'GPU'} shape, ${choice.matmul === 'subgroups' ? 'subgroup' : 'tiled'} matmul (${how})`;
}
