/**
 * Webdataset shards as an evaluation set, streamed: for retrieval each sample's image with its caption (the txt, as
 * the reference's eval pipeline reads it, else the json's original captions); for classification its `cls` label
 * (CLIP_benchmark's webdataset layout), with the class names given separately.
 */
import { type Shard, retrievalCaptions, shardSamples } from '../../data/webdataset.ts';
import type { ClassificationSource, EvalImage, EvalSource } from './source.ts';

function shardImages(shards: readonly Shard[], pick: (sample: Parameters<typeof retrievalCaptions>[0]) => Partial<EvalImage> | string): EvalSource['images'] {
  const total = shards.reduce((n, shard) => n + shard.blob.size, 0);
  return async function* (skip, onBytes) {
    let read = 0;
    const counted = (bytes: number) => {
      read += bytes;
      onBytes?.(read, total);
    };
    for await (const sample of shardSamples(shards, skip, counted)) {
      const fields = pick(sample);
      if (typeof fields === 'string') {
        skip({ path: sample.where, reason: fields });
        continue;
      }
      const bytes = sample.image.bytes;
      yield { where: `${sample.where}.${sample.image.extension}`, read: async () => new Blob([bytes as Uint8Array<ArrayBuffer>]), ...fields };
    }
  };
}

const described = (shards: readonly Shard[]) =>
  `${shards.length} webdataset shard${shards.length === 1 ? '' : 's'} (${shards[0]!.name}${shards.length > 1 ? ', ...' : ''})`;

export function shardRetrievalSource(shards: readonly Shard[]): EvalSource {
  return {
    name: described(shards),
    layout: 'webdataset',
    total: null,
    skipped: [],
    images: shardImages(shards, (sample) => {
      const captions = retrievalCaptions(sample);
      return captions.length > 0 ? { captions } : 'no caption (a txt, or a json with original captions)';
    }),
  };
}

export function shardClassificationSource(shards: readonly Shard[], classNames: readonly string[], templates: readonly string[]): ClassificationSource {
  return {
    name: described(shards),
    layout: 'webdataset',
    total: null,
    skipped: [],
    classNames,
    templates,
    images: shardImages(shards, (sample) => {
      if (sample.label === null) return 'no cls member (the class index)';
      if (sample.label >= classNames.length) return `its cls is ${sample.label}, but ${classNames.length} class names are given`;
      return { label: sample.label };
    }),
  };
}
