/**
 * `cosmos shards` end to end: a folder of captioned images written as shards, with sizes.json and the torchrun
 * command (whose flags the reference's own parser reads: src/data/torchrun.test.ts) and, with fewer shards than
 * GPUs, the note that says why it runs fewer processes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { torchrunCommand, torchrunNote } from '../data/shardWriter.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { cliJson, tempDir, writeTestPng } from '../testing/cli.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());

interface ShardsJson {
  shards: { name: string; samples: number }[];
  samples: number;
  pattern: string;
  torchrun: string;
  torchrun_note: string | null;
}

describe('cosmos shards', () => {
  it('3 images at 2 a shard: 2 shards, so a torchrun command of 2 processes and a note saying why', async () => {
    const folder = join(tmp.dir, 'photos');
    mkdirSync(folder);
    for (let i = 0; i < 3; i++) {
      await writeTestPng(join(folder, `p${i}.png`), 20, 16, i);
      writeFileSync(join(folder, `p${i}.txt`), `Picture number ${i}.`);
    }
    const out = join(tmp.dir, 'shards');
    const written = await cliJson<ShardsJson>(runtime, 'shards', '--data', folder, '--out', out, '--per-shard', '2', '--json');
    expect(written.shards).toEqual([
      { name: 'shard-0000.tar', samples: 2, bytes: expect.any(Number) },
      { name: 'shard-0001.tar', samples: 1, bytes: expect.any(Number) },
    ]);
    expect(JSON.parse(readFileSync(join(out, 'sizes.json'), 'utf8'))).toEqual({ 'shard-0000.tar': 2, 'shard-0001.tar': 1 });
    expect(written.pattern).toBe(join(out, 'shard-{0000..0001}.tar'));
    expect(written.torchrun).toBe(torchrunCommand(written.pattern, 3, 2));
    expect(written.torchrun).toContain('--nproc_per_node 2 -m main');
    expect(written.torchrun_note).toBe(torchrunNote(2));
    expect(written.torchrun_note).toMatch(/^2 shards, so 2 GPUs: /);
  });
});
