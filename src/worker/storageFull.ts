/**
 * A save that the browser's storage quota refused, said as the user can act on it: how much more room the save
 * needs, and which saved checkpoints could be deleted (largest first) to make it.
 */
import type { CheckpointStore, StoredCheckpoint } from '../checkpoint/opfs.ts';
import type { TrainingRun } from '../cosmos/training.ts';
import { formatBytes } from '../format.ts';

export class StorageFullError extends Error {
  override name = 'StorageFullError';
}

export const isQuotaError = (error: unknown): boolean => (error as { name?: string } | null)?.name === 'QuotaExceededError';

/** The bytes a training checkpoint of the run takes: student, teacher and AdamW's two moments in float32 (the zip's headers are noise). */
export function checkpointBytes(run: TrainingRun): number {
  const count = (tensors: readonly { size: number }[]) => tensors.reduce((n, t) => n + t.size, 0);
  const moments = 2 * count(run.trainer.optimizer.state().params.map((p) => p.expAvg));
  return 4 * (count(run.student.parameters()) + count(run.teacher?.parameters() ?? []) + moments);
}

export interface StorageEstimate {
  usage: number;
  quota: number;
}

/** The browser's own figures where it gives them (StorageManager.estimate), else null. */
export async function storageEstimate(): Promise<StorageEstimate | null> {
  const estimate = await globalThis.navigator?.storage?.estimate?.().catch(() => null);
  return estimate?.usage !== undefined && estimate.quota !== undefined ? { usage: estimate.usage, quota: estimate.quota } : null;
}

/** One sentence: what the save needs, what is free, and what could be deleted. */
export function storageFullMessage(bytes: number, estimate: StorageEstimate | null, saved: readonly StoredCheckpoint[]): string {
  const free = estimate ? Math.max(0, estimate.quota - estimate.usage) : null;
  const room =
    free === null
      ? `it needs about ${formatBytes(bytes)} free`
      : `it needs about ${formatBytes(Math.max(1, bytes - free))} more (the checkpoint is ${formatBytes(bytes)}; ${formatBytes(free)} of the ${formatBytes(estimate!.quota)} this site may use is free)`;
  const largest = [...saved].sort((a, b) => b.size - a.size);
  const listed = largest
    .slice(0, 5)
    .map((c) => `${c.name} (${formatBytes(c.size)})`)
    .join(', ');
  const more = largest.length > 5 ? ` and ${largest.length - 5} more` : '';
  const advice = saved.length
    ? `delete checkpoints you no longer need in the Checkpoints panel (download them first to keep them): ${listed}${more}`
    : "free space for this site in the browser's settings";
  return `The browser's storage is full, so the run could not be saved: ${room}; ${advice}.`;
}

/** Runs `save`; a quota refusal becomes a StorageFullError saying how much room is needed and what could go. */
export async function withRoomCheck<T>(run: TrainingRun, checkpoints: CheckpointStore, save: () => Promise<T>): Promise<T> {
  try {
    return await save();
  } catch (error) {
    if (!isQuotaError(error)) throw error;
    const saved = await checkpoints.list().catch(() => []);
    throw new StorageFullError(storageFullMessage(checkpointBytes(run), await storageEstimate(), saved), { cause: error });
  }
}
