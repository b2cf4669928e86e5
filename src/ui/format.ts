import { formatBytes, formatCount } from '../format.ts';

/** Limits measured in bytes; the others are counts. */
const BYTE_LIMITS: ReadonlySet<string> = new Set([
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxUniformBufferBindingSize',
]);

export function formatLimit(name: string, value: number): string {
  return BYTE_LIMITS.has(name) ? formatBytes(value) : formatCount(value);
}

/** "maxStorageBufferBindingSize" -> "Max storage buffer binding size". */
export function limitLabel(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const formatMs = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
