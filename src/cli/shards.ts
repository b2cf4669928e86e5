/**
 * `cosmos shards --data DIR|ZIP --out DIR`: the user's images and captions (as `train --data` reads them) written as
 * webdataset shards in the layout the COSMOS reference trains on (shardWriter.ts), with sizes.json, and the torchrun
 * command line that trains on them.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { DEFAULT_SAMPLES_PER_SHARD, shardPattern, sizesJson, writeShards } from '../data/shardWriter.ts';
import { withDataFiles } from '../data/userData-node.ts';
import { captionedFiles } from '../data/userData.ts';
import { defineCommand } from './command.ts';

/** GPUs in the command shown (the reference's CC3M nodes have 4). */
const GPUS = 4;

/**
 * The reference's training command on the shards (its CC3M recipe, COSMOS-SPEC section 6). Its loader wants at least
 * as many shards as data-loading workers on all GPUs together, so the workers per GPU are at most shards / GPUs.
 */
export function torchrunCommand(pattern: string, samples: number, shards: number): string {
  const workers = Math.max(1, Math.min(8, Math.floor(shards / GPUS)));
  return [
    `torchrun --nproc_per_node ${GPUS} -m main`,
    '--model ViT-B-16 --dataset-type webdataset',
    `--train-data '${pattern}' --train-num-samples ${samples}`,
    '--caption-sampling-mode textcrop --num-sampled-captions 8',
    '--use-imagecrop-aug --global-crops-number 2 --local-crops-number 6 --crop-scale 0.4',
    '--momentum-teacher 0.999 --fix-momentum --output-all --attentional-pool --cosmos',
    `--lr 5e-4 --warmup 2000 --epochs 32 --batch-size 64 --wd 0.5 --beta1 0.9 --beta2 0.98 --eps 1e-8 --precision amp --workers ${workers}`,
  ].join(' \\\n    ');
}

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
    ctx.result(
      {
        out: flags.out,
        shards: written.shards.map((s) => ({ name: s.name, samples: s.samples, bytes: s.blob.size })),
        samples,
        pattern,
        skipped: written.skipped,
        torchrun: command,
      },
      () =>
        `wrote ${written.shards.length} shards, ${samples} samples, to ${flags.out} (${pattern}, sizes.json)\ntrain on them with the COSMOS reference (in its src/):\n  ${command}`,
    );
  },
});
