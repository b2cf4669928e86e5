import type { AdapterSummary } from '../src/gpu/acquire.ts';

/** "vendor / architecture / device: description (fallback adapter)", skipping what the adapter leaves empty. */
export function describeAdapter(a: AdapterSummary): string {
  const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') || 'unnamed adapter';
  return `${name}${a.description ? `: ${a.description}` : ''}${a.isFallbackAdapter ? ' (fallback adapter)' : ''}`;
}
