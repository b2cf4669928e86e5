// The worker's data set switch: the built-in scenes, the user's files decoded for the run, decoded again when a
// run needs larger sources, and unusable files leaving the previous data set in place. CPU only.
import pngjs from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TINY_TRAINING } from '../cosmos/trainingOptions.ts';
import { BUILT_IN_SCENES } from '../data/dataset.ts';
import { decodeImageBlobInNode } from '../data/image-node.ts';
import type { SceneAtlas } from '../data/scenes.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import type { PathedBlob } from '../data/userData-browser.ts';
import type { ImageDecoder } from '../data/userData.ts';
import { DataSets } from './dataSets.ts';

/** A 200 x 160 PNG of one colour. */
function solidPng(rgb: [number, number, number]): Blob {
  const png = new pngjs.PNG({ width: 200, height: 160 });
  for (let p = 0; p < 200 * 160; p++) png.data.set([...rgb, 255], p * 4);
  return new Blob([new Uint8Array(pngjs.PNG.sync.write(png))]);
}

const text = (s: string): Blob => new Blob([s]);

/** mine/: three captioned colours and one file that is not an image. */
function myFiles(): PathedBlob[] {
  return [
    { path: 'mine/red.png', blob: solidPng([255, 0, 0]) },
    { path: 'mine/red.txt', blob: text('A red square.') },
    { path: 'mine/green.png', blob: solidPng([0, 255, 0]) },
    { path: 'mine/green.txt', blob: text('A green square.') },
    { path: 'mine/blue.png', blob: solidPng([0, 0, 255]) },
    { path: 'mine/blue.txt', blob: text('A blue square.') },
    { path: 'mine/broken.png', blob: text('not a png') },
    { path: 'mine/broken.txt', blob: text('Never seen.') },
  ];
}

describe('the worker data sets', () => {
  let atlas: SceneAtlas;
  let decodes: number;
  const decode: ImageDecoder = async (blob, path) => {
    decodes++;
    return decodeImageBlobInNode(blob, path);
  };
  beforeAll(async () => {
    atlas = await loadSceneAtlasFromDisk();
  });

  it('starts on the built-in scenes and switches to the user files, with what it skipped', async () => {
    const sets = new DataSets(atlas, decode);
    expect(sets.info).toEqual({ name: BUILT_IN_SCENES, summary: null, heldOutCaptions: [] });
    expect((await sets.forRun(TINY_TRAINING)).name).toBe(BUILT_IN_SCENES);

    const progress: number[] = [];
    const info = await sets.selectFiles(myFiles(), TINY_TRAINING, (done) => progress.push(done));
    expect(info.name).toBe('mine');
    expect(info.summary).toMatchObject({ used: 3, heldOut: 1, captionSource: 'per-image .txt files' });
    expect(info.summary!.skipped.map((s) => s.path)).toEqual(['mine/broken.png']);
    // Pairs in path order (blue, green, red), the last held out when there are fewer than 10.
    expect(info.heldOutCaptions).toEqual(['A red square.']);
    expect(progress).toEqual([1, 2, 3, 4]);

    const data = await sets.forRun(TINY_TRAINING);
    expect(data.name).toBe('mine');
    const { image, caption } = data.train(0, TINY_TRAINING.sourceSize);
    expect([image.width, image.height]).toEqual([TINY_TRAINING.sourceSize, TINY_TRAINING.sourceSize]);
    expect(['A red square.', 'A green square.', 'A blue square.']).toContain(caption);

    expect(sets.selectBuiltIn()).toEqual({ name: BUILT_IN_SCENES, summary: null, heldOutCaptions: [] });
    expect((await sets.forRun(TINY_TRAINING)).name).toBe(BUILT_IN_SCENES);
  });

  it('decodes again only for a run that needs larger sources or another seed', async () => {
    const sets = new DataSets(atlas, decode);
    decodes = 0;
    await sets.selectFiles(myFiles(), TINY_TRAINING);
    expect(decodes).toBe(4);
    await sets.forRun({ ...TINY_TRAINING, sourceSize: TINY_TRAINING.sourceSize / 2 });
    expect(decodes).toBe(4);
    const larger = await sets.forRun({ ...TINY_TRAINING, sourceSize: 150 });
    expect(decodes).toBe(8);
    // 150 is within the 160-pixel short side: kept at full working size, not capped at the first run's 96.
    expect(larger.train(0, 150).image.width).toBe(150);
    await sets.forRun({ ...TINY_TRAINING, sourceSize: 150, seed: 7 });
    expect(decodes).toBe(12);
  });

  it('keeps the previous data set when the files are unusable', async () => {
    const sets = new DataSets(atlas, decode);
    await sets.selectFiles(myFiles(), TINY_TRAINING);
    const unusable = [
      { path: 'other/broken.png', blob: text('no') },
      { path: 'other/broken.txt', blob: text('No.') },
    ];
    await expect(sets.selectFiles(unusable, TINY_TRAINING)).rejects.toThrow(/No usable image-caption pair in other.*broken\.png/);
    expect(sets.info.name).toBe('mine');
  });
});
