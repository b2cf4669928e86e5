/**
 * Webdataset shards (the layout the COSMOS reference trains on): tar archives whose members are grouped into samples
 * by key, "dir/000123.jpg" and "dir/000123.json" making sample "dir/000123", as webdataset's group_by_keys does (the
 * key is the path up to the first dot of the file name; a new sample starts when the key changes or an extension
 * repeats). A sample's image is its jpg, png, jpeg or webp member (the reference's order); its caption its txt, or
 * the captions of its json (shardCaptions.ts); `cls` an integer label. Shards are read as streams, one member in
 * memory at a time; whatever cannot be used is reported with its reason and skipped.
 */
import { errorMessage } from '../format.ts';
import { type JsonCaptions, jsonCaptions } from './shardCaptions.ts';
import { isTarSkip, readTar } from './tar.ts';

/** One shard: a chosen File in the page, a file opened as a Blob in Node. */
export interface Shard {
  name: string;
  blob: Blob;
}

export const SHARD_IMAGE_EXTENSIONS = ['jpg', 'png', 'jpeg', 'webp'] as const;
export type ShardImageExtension = (typeof SHARD_IMAGE_EXTENSIONS)[number];

export interface ShardSample {
  /** "shard.tar:key": names the sample in listings. */
  where: string;
  key: string;
  image: { extension: ShardImageExtension; bytes: Uint8Array };
  /** The txt member's caption; null when the sample has none. */
  text: string | null;
  /** The json member's captions; null when the sample has none. */
  json: JsonCaptions | null;
  /** The cls member's integer; null when the sample has none. */
  label: number | null;
}

export interface ShardSkip {
  path: string;
  reason: string;
}

/** Webdataset's base_plus_ext: [key, extension], or null for a name with no extension. */
export function splitKey(name: string): [string, string] | null {
  const m = /^((?:.*\/|)[^./]+)\.([^/]*)$/.exec(name);
  return m ? [m[1]!, m[2]!.toLowerCase()] : null;
}

/** Webdataset's own metadata members ("__key__"-like names at the top level) are not samples' files. */
const isMeta = (name: string) => !name.includes('/') && name.startsWith('__') && name.split('.')[0]!.endsWith('__');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** A grouped sample as ShardSample, or why it cannot be used. */
function interpret(shard: string, key: string, members: Map<string, Uint8Array>): ShardSample | string {
  const extension = SHARD_IMAGE_EXTENSIONS.find((ext) => members.has(ext));
  if (!extension) return `no image (a ${SHARD_IMAGE_EXTENSIONS.join(', ')} member); it has ${[...members.keys()].join(', ')}`;
  let text: string | null = null;
  let json: JsonCaptions | null = null;
  let label: number | null = null;
  try {
    const txt = members.get('txt');
    if (txt) text = utf8.decode(txt).replace(/\r\n?/g, '\n').trim() || null;
    const rawJson = members.get('json');
    if (rawJson) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(utf8.decode(rawJson));
      } catch (e) {
        return `its .json is not valid JSON (${errorMessage(e)})`;
      }
      const captions = jsonCaptions(parsed);
      if (typeof captions === 'string') {
        if (text === null) return captions;
      } else json = captions;
    }
    const cls = members.get('cls');
    if (cls) {
      const value = utf8.decode(cls).trim();
      if (!/^\d+$/.test(value)) return `its .cls holds ${JSON.stringify(value.slice(0, 20))}, not a class index`;
      label = Number(value);
    }
  } catch {
    return 'a caption member is not UTF-8 text';
  }
  if (text === null && json === null && label === null) return 'no caption (a txt or json member) and no cls label';
  return { where: `${shard}:${key}`, key, image: { extension, bytes: members.get(extension)! }, text, json, label };
}

/**
 * The samples of `shards`, in order, streamed; `skip` hears of each member or sample passed over and why. A shard
 * that cannot be read to its end (damaged, truncated) is reported through `skip` after its good samples.
 */
export async function* shardSamples(shards: readonly Shard[], skip: (s: ShardSkip) => void, onBytes?: (bytes: number) => void): AsyncGenerator<ShardSample> {
  for (const shard of shards) {
    let current: { key: string; members: Map<string, Uint8Array> } | null = null;
    const finish = function* (): Generator<ShardSample> {
      if (!current) return;
      const sample = interpret(shard.name, current.key, current.members);
      if (typeof sample === 'string') skip({ path: `${shard.name}:${current.key}`, reason: sample });
      else yield sample;
      current = null;
    };
    try {
      for await (const member of readTar(countedStream(shard.blob, onBytes), shard.name)) {
        if (isTarSkip(member)) {
          skip({ path: `${shard.name}:${member.name}`, reason: member.reason });
          continue;
        }
        if (isMeta(member.name)) continue;
        const split = splitKey(member.name);
        if (!split) {
          skip({ path: `${shard.name}:${member.name}`, reason: 'no extension, so no sample key' });
          continue;
        }
        const [key, extension] = split;
        if (current && (current.key !== key || current.members.has(extension))) yield* finish();
        current ??= { key, members: new Map() };
        current.members.set(extension, member.bytes);
      }
      yield* finish();
    } catch (error) {
      yield* finish();
      skip({ path: shard.name, reason: `the rest of the shard is unreadable: ${errorMessage(error)}` });
    }
  }
}

/** The blob's byte stream, telling `onBytes` how many bytes each chunk holds as it passes. */
function countedStream(blob: Blob, onBytes?: (bytes: number) => void): ReadableStream<Uint8Array> {
  const stream = blob.stream() as ReadableStream<Uint8Array>;
  if (!onBytes) return stream;
  return stream.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        onBytes(chunk.byteLength);
        controller.enqueue(chunk);
      },
    }),
  );
}

/** The caption retrieval ranks for a sample: its txt, else its json's original captions. */
export const retrievalCaptions = (sample: ShardSample): string[] => (sample.text !== null ? [sample.text] : (sample.json?.raw ?? []));
