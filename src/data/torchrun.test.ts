// The torchrun command printed beside the user's shards is one the COSMOS reference takes: its own argument parser
// (src/training/params.py) read each of these commands (fixtures/data/torchrun.json, scripts/fixtures/torchrun_args.py).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { torchrunCommand } from './shardWriter.ts';

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
    });
  }
});
