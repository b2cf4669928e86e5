// The torchrun command printed beside the user's shards is one the COSMOS reference takes: its own argument parser
// (src/training/params.py) read each of these commands (fixtures/data/torchrun.json, scripts/fixtures/torchrun_args.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { torchrunCommand, torchrunNote } from './shardWriter.ts';

interface ParsedCommand {
  pattern: string;
  samples: number;
  shards: number;
  command: string;
  nproc_per_node: number;
  parsed: Record<string, string | number | boolean | null>;
}

const cases = JSON.parse(readFileSync(new URL('../../fixtures/data/torchrun.json', import.meta.url), 'utf8')) as ParsedCommand[];

describe('torchrunCommand', () => {
  for (const c of cases) {
    it(`${c.samples} samples in ${c.shards} shards: the command the reference parsed, training COSMOS on those shards`, () => {
      expect(torchrunCommand(c.pattern, c.samples, c.shards)).toBe(c.command);
      expect(c.parsed).toMatchObject({
        train_data: c.pattern,
        train_num_samples: c.samples,
        dataset_type: 'webdataset',
        caption_sampling_mode: 'textcrop',
        cosmos: true,
        attentional_pool: true,
      });
      // Every process gets shards: the reference's loader asserts shards >= workers x processes (src/training/data.py).
      expect(c.nproc_per_node).toBe(Math.min(4, c.shards));
      expect((c.parsed.workers as number) * c.nproc_per_node).toBeLessThanOrEqual(c.shards);
    });
  }

  it('says why it runs on fewer than 4 GPUs when there are fewer shards, and nothing otherwise', () => {
    expect(cases.map((c) => c.shards)).toEqual(expect.arrayContaining([1, 3]));
    expect(torchrunNote(1)).toBe(
      "1 shard, so 1 GPU: under torchrun each GPU's process reads whole shards, and one without a shard would have nothing to train on; write smaller shards to train on 4",
    );
    expect(torchrunNote(3)).toMatch(/^3 shards, so 3 GPUs: /);
    expect(torchrunNote(4)).toBeNull();
    expect(torchrunNote(128)).toBeNull();
  });
});
