/**
 * `cosmos train --out` when its GPU device is lost (forced with device.destroy() after a step): it says so,
 * acquires a new device, restores the last save from --out and goes on, losing only the steps since that save.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { readTrainingCheckpoint } from '../cosmos/trainingCheckpoint.ts';
import { createNodeRuntime } from '../gpu/node.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { tempDir } from '../testing/cli.ts';
import { runCli } from './cli.ts';

const tmp = tempDir();
const created: GpuRuntime[] = [];
afterAll(() => {
  for (const runtime of created) if (!runtime.isLost) runtime.destroy();
  tmp.remove();
});

describe('cosmos train on a lost GPU device', () => {
  it('acquires a new device, restores the last save of --out, and trains to the end', async () => {
    const out = join(tmp.dir, 'run.pt');
    const runtime = async () => {
      if (!created.at(-1) || created.at(-1)!.isLost) created.push(await createNodeRuntime());
      return created.at(-1)!;
    };
    const steps: number[] = [];
    let stderr = '';
    let destroyed = false;
    const code = await runCli(['train', '--steps', '5', '--batch', '2', '--save-every', '2', '--eval-count', '4', '--out', out, '--json'], {
      stdout: (text) => {
        for (const line of text.trim().split('\n')) {
          const value = JSON.parse(line) as { step?: number; final?: boolean };
          if (value.final || value.step === undefined) continue;
          steps.push(value.step);
          if (value.step === 3 && !destroyed) {
            destroyed = true;
            created.at(-1)!.device.destroy();
          }
        }
      },
      stderr: (text) => (stderr += text),
      runtime,
    });
    expect(code, stderr).toBe(0);
    expect(created.length).toBe(2);
    expect(stderr).toContain(`The GPU device was lost (destroyed) after step 3; a new one is acquired and training goes on from ${out} (step 2).`);
    // Step 3 is lost with the device and trained again from step 2's save.
    expect(steps).toEqual([1, 2, 3, 3, 4, 5]);
    const source = await fileSource(out);
    const saved = await readTrainingCheckpoint(source);
    await source.close();
    expect(saved.optimizer?.params.length).toBeGreaterThan(0);
  });
});
