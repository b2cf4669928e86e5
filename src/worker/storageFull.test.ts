import { describe, expect, it } from 'vitest';
import { storageFullMessage } from './storageFull.ts';

const MiB = 1024 * 1024;

describe('the storage-full sentence', () => {
  it("says how much more room the save needs from the browser's figures, and lists the largest checkpoints first", () => {
    const saved = [
      { name: 'small.pt', size: 1 * MiB, modified: 0 },
      { name: 'autosave.pt', size: 40 * MiB, modified: 0 },
      { name: 'big.pt', size: 80 * MiB, modified: 0 },
    ];
    const message = storageFullMessage(40 * MiB, { usage: 125 * MiB, quota: 150 * MiB }, saved);
    expect(message).toBe(
      "The browser's storage is full, so the run could not be saved: it needs about 15 MiB more (the checkpoint is 40 MiB; 25 MiB of the 150 MiB this site may use is free); " +
        'delete checkpoints you no longer need in the Checkpoints panel (download them first to keep them): big.pt (80 MiB), autosave.pt (40 MiB), small.pt (1 MiB).',
    );
  });

  it('without the figures or anything to delete, says what the save needs and where to free room', () => {
    expect(storageFullMessage(2 * MiB, null, [])).toBe(
      "The browser's storage is full, so the run could not be saved: it needs about 2 MiB free; free space for this site in the browser's settings.",
    );
  });
});
