import type { AdapterSummary } from '../src/gpu/acquire.ts';
import { type ChoiceStore, type Tuning, tuneKernels } from '../src/tensor/tuneKernels.ts';

/** "vendor / architecture / device: description (fallback adapter)", skipping what the adapter leaves empty. */
export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || 'unnamed adapter';
  return `${name}${a.description ? `: ${a.description}` : ''}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}

/** "kernels: CPU shape, subgroup matmul (fallback adapter)": which family tuneKernels left this adapter with, and how. */
function describeKernels({ choice, how }: Tuning): string {
  return `kernels: ${choice.cpuStyle ? 'CPU' : 'GPU'} shape, ${choice.matmul === 'subgroups' ? 'subgroup' : 'tiled'} matmul (${how})`;
}

/**
 * Picks the installed runtime's kernel shape as the app does (tuneKernels, kept in `store`), then describes the
 * adapter and that shape: "describeAdapter; kernels: ...", what the benchmarks print and record.
 */
export async function tunedAdapter(adapter: AdapterSummary, store: ChoiceStore): Promise<string> {
  return `${describeAdapter(adapter)}; ${describeKernels(await tuneKernels(store))}`;
}
