import { describe, expect, it } from 'vitest';
import { evalFile, evalTruth } from '../testing/evalData.ts';
import { encodePng } from './image-node.ts';
import { decodeLabelPng } from './labelMap.ts';

describe('label maps', () => {
  it('palette and grayscale PNGs written by Pillow read as numpy reads them (the palette index, not its colour)', async () => {
    for (const item of evalTruth().segmentation.items) {
      const path = `segmentation/${item.label}`;
      const map = await decodeLabelPng(new Uint8Array(await evalFile(path).arrayBuffer()), path);
      expect([map.width, map.height]).toEqual([item.width, item.height]);
      expect(Array.from(map.labels)).toEqual(item.labels);
    }
  });

  it('refuses what is not a map of class indices, naming the file', async () => {
    const rgb = encodePng({ width: 2, height: 2, data: new Uint8Array(12) });
    await expect(decodeLabelPng(rgb, 'colour.png')).rejects.toThrow(
      'colour.png: a label map must be a grayscale or palette PNG whose values are class indices; this one is RGBA',
    );
    await expect(decodeLabelPng(new Uint8Array([1, 2, 3]), 'x.png')).rejects.toThrow('x.png: a label map must be a PNG, and this is not one');
  });
});
