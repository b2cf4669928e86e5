import { describe, expect, it } from 'vitest';
import { textCropsFromList } from './textCrops.ts';
import { EVAL_DATA, evalFile, evalTruth } from '../testing/evalData.ts';
import { decodeImageBlobInNode } from './image-node.ts';
import { rng } from './random.ts';
import { jsonCaptions, splitCaption } from './shardCaptions.ts';
import { shardTrainingData } from './shardData.ts';
import { openShards } from './userData-node.ts';
import { type ShardSkip, retrievalCaptions, shardSamples, splitKey } from './webdataset.ts';

const shards = () => ['shard-0000.tar', 'shard-0001.tar'].map((name) => ({ name, blob: evalFile(`shards/${name}`) }));

describe('webdataset samples', () => {
  it("keys as webdataset's base_plus_ext splits them", () => {
    expect(splitKey('a/b/000123.jpg')).toEqual(['a/b/000123', 'jpg']);
    expect(splitKey('x.seg.PNG')).toEqual(['x', 'seg.png']);
    expect(splitKey('README')).toBeNull();
  });

  it('groups members by key; captions from txt, DreamLIP json and PixelProse json; bad samples listed', async () => {
    const truth = evalTruth().shards.samples;
    const skipped: ShardSkip[] = [];
    const samples = [];
    for await (const sample of shardSamples(shards(), (s) => skipped.push(s))) samples.push(sample);
    expect(samples.map((s) => s.where)).toEqual(truth.map((t) => t.key));
    for (const [i, sample] of samples.entries()) {
      expect(retrievalCaptions(sample)).toEqual(truth[i]!.captions);
      expect(sample.json?.textCrops ?? null).toEqual(truth[i]!.text_crops);
      expect(sample.image.extension).toBe(truth[i]!.webp ? 'webp' : truth[i]!.text_crops ? 'png' : 'jpg');
    }
    const listed = skipped.map((s) => `${s.path}: ${s.reason}`);
    expect(listed).toHaveLength(3);
    expect(listed).toContain('shard-0000.tar:orphan: no image (a jpg, png, jpeg, webp member); it has txt');
    expect(listed).toContain('shard-0000.tar:README: no extension, so no sample key');
    expect(listed.find((line) => line.startsWith('shard-0000.tar:broken: '))).toMatch(/its \.json is not valid JSON \(.+\)$/);
  });

  it('a truncated shard yields its whole samples, then says the rest is unreadable', async () => {
    const bytes = new Uint8Array(await evalFile('shards/shard-0001.tar').arrayBuffer());
    const skipped: ShardSkip[] = [];
    const keys: string[] = [];
    for await (const s of shardSamples([{ name: 'cut.tar', blob: new Blob([bytes.slice(0, 6000)]) }], (x) => skipped.push(x))) keys.push(s.key);
    expect(keys.length).toBeGreaterThan(0);
    expect(skipped.at(-1)!.path).toBe('cut.tar');
    expect(skipped.at(-1)!.reason).toMatch(/^the rest of the shard is unreadable: cut\.tar is truncated/);
  });
});

describe('json captions as the reference samples them', () => {
  it("DreamLIP's seven fields in textcrop's order, strings or lists; PixelProse's original caption and split long caption", () => {
    const dream = {
      raw_caption: 'raw',
      shortIB_captions: ['sIB'],
      longIB_captions: ['lIB'],
      shortSV_captions: [],
      longSV_captions: ['lSV'],
      shortLLA_captions: ['sLLA'],
      longLLA_captions: [],
    };
    expect(jsonCaptions(dream)).toEqual({ textCrops: ['raw', 'sIB', 'sLLA', 'lIB', 'lSV'], raw: ['raw'] });
    expect(jsonCaptions({ original_caption: 'orig', caption: 'One.</s>Two\nThree. ' })).toEqual({ textCrops: ['orig', 'One', 'Two', 'Three'], raw: ['orig'] });
    expect(splitCaption('a.b\n\n c</s>')).toEqual(['a', 'b', 'c']);
    expect(jsonCaptions({ url: 'x' })).toMatch(/none of DreamLIP's caption fields/);
    expect(jsonCaptions([1])).toBe('the .json is not an object of caption fields');
  });

  it("textcrop: 2 global crops of 1-5 items joined with '. ', repeats only past the list; locals one item each", () => {
    const list = ['a', 'b', 'c'];
    const random = rng(5);
    const lengths = new Set<number>();
    for (let trial = 0; trial < 400; trial++) {
      const crops = textCropsFromList(random, list, 6);
      expect(crops).toHaveLength(8);
      for (const g of crops.slice(0, 2)) {
        const parts = g.split('. ');
        lengths.add(parts.length);
        // random_sample_from_list: the whole list once for every full length, then distinct draws.
        const counts = list.map((x) => parts.filter((p) => p === x).length);
        expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
      }
      // 6 locals of 3 items: the list twice, in its own order (div * captions_list), nothing drawn.
      expect(crops.slice(2)).toEqual(['a', 'b', 'c', 'a', 'b', 'c']);
    }
    expect([...lengths].sort()).toEqual([1, 2, 3, 4, 5]);
    expect(
      textCropsFromList(rng(1), ['x', 'y', 'z', 'w'], 2)
        .slice(2)
        .every((c) => ['x', 'y', 'z', 'w'].includes(c)),
    ).toBe(true);
  });
});

describe('training on shards', () => {
  it('decodes each sample at the working size (jpg, png and webp); txt captions, json caption lists for the text crops', async () => {
    const truth = evalTruth().shards.samples;
    const opened = await openShards(`${EVAL_DATA}/shards/shard-{0000..0001}.tar`);
    const progress: number[] = [];
    const { data, summary } = await shardTrainingData(opened, {
      decode: decodeImageBlobInNode,
      workingSize: 24,
      name: 'shards',
      onProgress: (done) => progress.push(done),
    });
    expect(truth.some((t) => t.webp)).toBe(true);
    expect(summary.used).toBe(truth.length);
    expect(summary.heldOut).toBe(1);
    expect(summary.skipped.filter((s) => s.path.endsWith('.webp'))).toEqual([]);
    expect(progress.at(-1)).toBe(opened.reduce((n, s) => n + s.blob.size, 0));
    const seen = new Map<string, unknown>();
    for (let i = 0; i < truth.length - 1; i++) {
      const pair = data.train(i, 16);
      expect([pair.image.width, pair.image.height]).toEqual([16, 16]);
      seen.set(pair.caption, pair.captionList ?? null);
    }
    // Every pair but the held-out one (the last), with the captions the shard gave it.
    for (const t of truth.slice(0, -1)) expect(seen.get(t.captions[0]!)).toEqual(t.text_crops);
  });
});
