/**
 * Training data from webdataset shards, in the page (chosen or dropped .tar files) and the CLI (`train --data
 * a.tar,b.tar` or "shards-{0000..0009}.tar"). The shards are streamed once; each sample's image is decoded and
 * kept at the working size, as the user's folders are (userData.ts), with its caption: the .txt, and for the text
 * crops the .json's caption list where there is one (the reference trains on the json). Every 10th pair is held out.
 */
import type { RgbImage } from './image.ts';
import { type Pair, type SkippedFile, type UserData, type UserDataOptions, decodeWorking, errorReason, splitPairs } from './userData.ts';
import { type Shard, type ShardSample, shardSamples } from './webdataset.ts';

/** Images decoded at once while the shards stream past. */
const DECODE_CONCURRENCY = 4;

/** What a sample trains on: its caption (txt, else its first original json caption) and its json's caption list. */
function captionsOf(sample: ShardSample): Pick<Pair, 'caption' | 'captionList'> {
  const caption = sample.text ?? sample.json?.raw[0];
  if (caption === undefined) throw new Error('no caption (a txt or json member)');
  return { caption, ...(sample.json ? { captionList: sample.json.textCrops } : {}) };
}

/** `onProgress(bytesRead, bytesTotal)` as the shards stream. */
export async function shardTrainingData(shards: readonly Shard[], options: UserDataOptions): Promise<UserData> {
  const skipped: SkippedFile[] = [];
  const total = shards.reduce((sum, shard) => sum + shard.blob.size, 0);
  let read = 0;
  let samples = 0;
  const pairs: (Pair | null)[] = [];
  const inFlight = new Set<Promise<void>>();
  const decode = async (sample: ShardSample, index: number) => {
    try {
      const captions = captionsOf(sample);
      const blob = new Blob([sample.image.bytes as Uint8Array<ArrayBuffer>]);
      const working: RgbImage = await decodeWorking(blob, `${sample.key}.${sample.image.extension}`, options);
      pairs[index] = { working, ...captions };
    } catch (e) {
      skipped.push({ path: sample.where, reason: errorReason(e, `${sample.key}.${sample.image.extension}`) });
    }
  };
  const onBytes = (bytes: number) => {
    read += bytes;
    options.onProgress?.(read, total);
  };
  for await (const sample of shardSamples(shards, (s) => skipped.push(s), onBytes)) {
    const index = samples++;
    pairs.push(null);
    const job = decode(sample, index).finally(() => inFlight.delete(job));
    inFlight.add(job);
    if (inFlight.size >= DECODE_CONCURRENCY) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  const kept = pairs.filter((pair): pair is Pair => pair !== null);
  const captionSource = `${shards.length} webdataset shard${shards.length === 1 ? '' : 's'} (txt and json captions)`;
  return splitPairs(kept, { ...options, imageCount: samples, captionSource, skipped });
}
