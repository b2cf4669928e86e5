import type { RaisedLimit } from '../gpu/acquire.ts';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** Limits measured in bytes; the others are counts. */
const BYTE_LIMITS: ReadonlySet<RaisedLimit> = new Set<RaisedLimit>([
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxComputeWorkgroupStorageSize',
  'maxUniformBufferBindingSize',
]);

const trimmed = (value: number): string => String(Number(value.toFixed(2)));

/** 1073741824 -> "1 GiB", 32768 -> "32 KiB", 65536 * 3 -> "192 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${trimmed(bytes / GiB)} GiB`;
  if (bytes >= MiB) return `${trimmed(bytes / MiB)} MiB`;
  if (bytes >= KiB) return `${trimmed(bytes / KiB)} KiB`;
  return `${bytes} B`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');

export function formatLimit(name: RaisedLimit, value: number): string {
  return BYTE_LIMITS.has(name) ? formatBytes(value) : formatCount(value);
}

/** "maxStorageBufferBindingSize" -> "Max storage buffer binding size". */
export function limitLabel(name: string): string {
  const words = name.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export const formatMs = (ms: number): string => `${ms < 10 ? ms.toFixed(2) : ms.toFixed(0)} ms`;
