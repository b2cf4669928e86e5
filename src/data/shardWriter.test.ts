import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../testing/cli.ts';
import { PYTHON, livePythonScript } from '../testing/python.ts';
import { sentencesOf } from './textCrops.ts';
import { shardJson, shardName, shardPattern, sizesJson, writeShards } from './shardWriter.ts';
import type { UserFile } from './userData.ts';
import { shardSamples } from './webdataset.ts';

const file = (path: string, bytes: number): UserFile => ({ path, read: async () => new Blob([new Uint8Array(bytes).fill(7)]) });
const CAPTIONED: [UserFile, string][] = [
  [file('photos/a.jpg', 700), 'A dog on a beach. The sky is blue.'],
  [file('photos/b.PNG', 300), 'A cat'],
  [file('photos/c.jpeg', 1025), 'Two birds.\nOne tree'],
];

describe("writing the user's data set as webdataset shards", () => {
  it("image bytes as they are, txt caption, json with DreamLIP's fields (sentences under raw_caption); read back as samples", async () => {
    const shards = await writeShards(CAPTIONED, 2);
    expect(shards.map((s) => [s.name, s.samples])).toEqual([
      ['shard-0000.tar', 2],
      ['shard-0001.tar', 1],
    ]);
    const samples = [];
    for await (const s of shardSamples(shards, (skip) => expect.fail(`${skip.path}: ${skip.reason}`))) samples.push(s);
    expect(samples.map((s) => [s.where, s.image.extension, s.image.bytes.length, s.text])).toEqual([
      ['shard-0000.tar:000000', 'jpg', 700, 'A dog on a beach. The sky is blue.'],
      ['shard-0000.tar:000001', 'png', 300, 'A cat'],
      ['shard-0001.tar:000002', 'jpeg', 1025, 'Two birds.\nOne tree'],
    ]);
    expect(samples.map((s) => s.json!.textCrops)).toEqual(CAPTIONED.map(([, caption]) => sentencesOf(caption)));
    expect(JSON.parse(sizesJson(shards))).toEqual({ 'shard-0000.tar': 2, 'shard-0001.tar': 1 });
    expect(shardPattern(shards)).toBe('shard-{0000..0001}.tar');
    expect(shardName('cc', 3, 12_000)).toBe('cc-00003.tar');
    expect(JSON.parse(shardJson('Only words')).raw_caption).toEqual(['Only words']);
  });

  it("Python's tarfile reads them, and the reference's textcrop caption list takes their json (live)", async () => {
    const live = livePythonScript('read_shards.py');
    if (live.skipped) return;
    const tmp = tempDir();
    try {
      const shards = await writeShards(CAPTIONED, 2);
      const paths = shards.map((s) => join(tmp.dir, s.name));
      for (const [i, s] of shards.entries()) writeFileSync(paths[i]!, new Uint8Array(await s.blob.arrayBuffer()));
      const run = spawnSync(PYTHON, [live.path, ...paths], { encoding: 'utf8' });
      expect(run.stderr).toBe('');
      const read = JSON.parse(run.stdout) as { key: string; image: string; image_bytes: number; txt: string; textcrop_list: string[] }[];
      expect(read.map((r) => [r.key, r.image, r.image_bytes, r.txt, r.textcrop_list])).toEqual(
        CAPTIONED.map(([f, caption], i) => [
          `00000${i}`,
          f.path.slice(f.path.lastIndexOf('.') + 1).toLowerCase(),
          [700, 300, 1025][i],
          caption,
          sentencesOf(caption),
        ]),
      );
    } finally {
      tmp.remove();
    }
  });
});
