/**
 * `cosmos shards --data DIR|ZIP --out DIR`: the user's images and captions (as `train --data` reads them) written as
 * webdataset shards in the layout the COSMOS reference trains on (shardWriter.ts), with sizes.json, and the torchrun
 * command line that trains on them.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULT_SAMPLES_PER_SHARD, shardPattern, sizesJson, torchrunCommand, torchrunNote, writeShards } from '../data/shardWriter.ts';
import { withDataFiles } from '../data/userData-node.ts';
import { captionedFiles } from '../data/userData.ts';
import { defineCommand } from './command.ts';

export const shardsCommand = defineCommand({
  name: 'shards',
  summary: 'write your images and captions as webdataset shards the COSMOS reference trains on under torchrun',
  flags: {
    data: { kind: 'string', required: true, value: 'DIR|ZIP' },
    out: { kind: 'string', required: true, value: 'DIR' },
    'per-shard': { kind: 'number', min: 1, value: String(DEFAULT_SAMPLES_PER_SHARD) },
    prefix: { kind: 'string', value: 'shard' },
  },
  async run(flags, ctx) {
    const prefix = flags.prefix ?? 'shard';
    if (!/^[\w.-]+$/.test(prefix)) throw new Error(`--prefix ${JSON.stringify(prefix)}: use letters, digits, '.', '_' and '-' only`);
    const written = await withDataFiles(flags.data, async (files) => {
      const { captioned, skipped, captionSource } = await captionedFiles(files);
      if (captioned.length === 0)
        throw new Error(
          `no captioned .png, .jpg or .jpeg image in ${flags.data}${skipped[0] ? ` (for example ${skipped[0].path}: ${skipped[0].reason})` : ''}`,
        );
      for (const { path, reason } of skipped) ctx.progress(`skipped ${path}: ${reason}`);
      ctx.progress(`${captioned.length} images, captions from ${captionSource}`);
      await mkdir(flags.out, { recursive: true });
      const shards = await writeShards(captioned, Math.floor(flags['per-shard'] ?? DEFAULT_SAMPLES_PER_SHARD), prefix);
      for (const shard of shards) {
        await shard.blob.stream().pipeTo(Writable.toWeb(createWriteStream(join(flags.out, shard.name))) as WritableStream<Uint8Array>);
        ctx.progress(`wrote ${join(flags.out, shard.name)} (${shard.samples} samples)`);
      }
      await writeFile(join(flags.out, 'sizes.json'), sizesJson(shards));
      return { shards, skipped };
    });
    const samples = written.shards.reduce((n, s) => n + s.samples, 0);
    const pattern = join(flags.out, shardPattern(written.shards, prefix));
    const command = torchrunCommand(pattern, samples, written.shards.length);
    const note = torchrunNote(written.shards.length);
    ctx.result(
      {
        out: flags.out,
        shards: written.shards.map((s) => ({ name: s.name, samples: s.samples, bytes: s.blob.size })),
        samples,
        pattern,
        skipped: written.skipped,
        torchrun: command,
        torchrun_note: note,
      },
      () =>
        `wrote ${written.shards.length} shards, ${samples} samples, to ${flags.out} (${pattern}, sizes.json)\ntrain on them with the COSMOS reference (in its src/):\n  ${command}${note ? `\n(${note})` : ''}`,
    );
  },
});
