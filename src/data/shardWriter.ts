/**
 * The user's data set written as webdataset shards in the layout the COSMOS reference trains on (`--dataset-type
 * webdataset --caption-sampling-mode textcrop`), so the same data trains at scale under torchrun: per sample
 * `<key>.<jpg|jpeg|png>` (the image file's own bytes, not re-encoded), `<key>.txt` (the caption, what the
 * reference's eval pipeline reads) and `<key>.json` with DreamLIP's seven caption fields, `raw_caption` holding the
 * caption's sentences and the others empty: the reference's text crops then draw from the same sentences that this
 * app's text crops draw from. `sizes.json` beside the shards gives their sample counts (what the reference reads
 * instead of --train-num-samples).
 */
import { sentencesOf } from './textCrops.ts';
import { DREAMLIP_FIELDS } from './shardCaptions.ts';
import { tarArchive } from './tarWriter.ts';
import type { UserFile } from './userData.ts';

export interface WrittenShard {
  name: string;
  blob: Blob;
  samples: number;
}

/** Samples per shard unless asked otherwise: webdataset's usual few thousand, a few hundred megabytes of photos. */
export const DEFAULT_SAMPLES_PER_SHARD = 1000;

const encoder = new TextEncoder();
const text = (value: string) => new Blob([encoder.encode(value)]);

/** The json member of a caption: DreamLIP's fields, the sentences under raw_caption. */
export function shardJson(caption: string): string {
  const sentences = sentencesOf(caption);
  return JSON.stringify(
    Object.fromEntries(DREAMLIP_FIELDS.map((field) => [field, field === 'raw_caption' ? (sentences.length > 0 ? sentences : [caption]) : []])),
  );
}

/** "shard-0000.tar", numbered with at least four digits (and more when there are more shards). */
export function shardName(prefix: string, index: number, count: number): string {
  return `${prefix}-${String(index).padStart(Math.max(4, String(count - 1).length), '0')}.tar`;
}

/**
 * The captioned images as shards of `perShard` samples, keys numbered through all shards. Each shard is a Blob of
 * the image files' own Blobs and small headers: nothing is read until the shard is written out.
 */
export async function writeShards(captioned: readonly [UserFile, string][], perShard = DEFAULT_SAMPLES_PER_SHARD, prefix = 'shard'): Promise<WrittenShard[]> {
  if (!(perShard >= 1)) throw new Error(`a shard holds at least one sample, not ${perShard}`);
  const count = Math.ceil(captioned.length / perShard);
  const width = Math.max(6, String(captioned.length - 1).length);
  const shards: WrittenShard[] = [];
  for (let s = 0; s < count; s++) {
    const part = captioned.slice(s * perShard, (s + 1) * perShard);
    const entries = await Promise.all(
      part.map(async ([file, caption], i) => {
        const key = String(s * perShard + i).padStart(width, '0');
        const extension = file.path.slice(file.path.lastIndexOf('.') + 1).toLowerCase();
        return [
          { name: `${key}.${extension}`, data: await file.read() },
          { name: `${key}.txt`, data: text(caption) },
          { name: `${key}.json`, data: text(shardJson(caption)) },
        ];
      }),
    );
    shards.push({ name: shardName(prefix, s, count), blob: tarArchive(entries.flat()), samples: part.length });
  }
  return shards;
}

/** sizes.json: each shard's sample count, as the reference's get_dataset_size reads it. */
export const sizesJson = (shards: readonly WrittenShard[]): string =>
  `${JSON.stringify(Object.fromEntries(shards.map((s) => [s.name, s.samples])), null, 1)}\n`;

/** The shards as the reference's --train-data pattern: "shard-{0000..0009}.tar" (or the one name). */
export function shardPattern(shards: readonly WrittenShard[], prefix = 'shard'): string {
  if (shards.length === 1) return shards[0]!.name;
  const first = shards[0]!.name.slice(prefix.length + 1, -'.tar'.length);
  const last = shards.at(-1)!.name.slice(prefix.length + 1, -'.tar'.length);
  return `${prefix}-{${first}..${last}}.tar`;
}

/** GPUs in the command shown (the reference's CC3M nodes have 4). */
const GPUS = 4;

/**
 * Processes in the command: the 4 GPUs, or fewer when there are fewer shards. The reference's loader hands each
 * process whole shards (wds.split_by_node) and asserts shards >= workers x processes (src/training/data.py), so a
 * process without a shard would have nothing to train on.
 */
export const torchrunProcesses = (shards: number): number => Math.max(1, Math.min(GPUS, shards));

/**
 * The reference's training command on the shards (its CC3M recipe, COSMOS-SPEC section 6), with as many processes
 * as torchrunProcesses allows and at most shards / processes data-loading workers per process.
 */
export function torchrunCommand(pattern: string, samples: number, shards: number): string {
  const processes = torchrunProcesses(shards);
  const workers = Math.max(1, Math.min(8, Math.floor(shards / processes)));
  return [
    `torchrun --nproc_per_node ${processes} -m main`,
    '--model ViT-B-16 --dataset-type webdataset',
    `--train-data '${pattern}' --train-num-samples ${samples}`,
    '--caption-sampling-mode textcrop --num-sampled-captions 8',
    '--use-imagecrop-aug --global-crops-number 2 --local-crops-number 6 --crop-scale 0.4',
    '--momentum-teacher 0.999 --fix-momentum --output-all --attentional-pool --cosmos',
    `--lr 5e-4 --warmup 2000 --epochs 32 --batch-size 64 --wd 0.5 --beta1 0.9 --beta2 0.98 --eps 1e-8 --precision amp --workers ${workers}`,
  ].join(' \\\n    ');
}

/** Why the command runs on fewer GPUs than the recipe's 4, when it does; null when it uses all 4. */
export function torchrunNote(shards: number): string | null {
  const processes = torchrunProcesses(shards);
  if (processes === GPUS) return null;
  const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;
  return (
    `${count(shards, 'shard')}, so ${count(processes, 'GPU')}: under torchrun each GPU's process reads whole shards, and one ` +
    `without a shard would have nothing to train on; write smaller shards to train on ${GPUS}`
  );
}
