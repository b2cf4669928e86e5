/**
 * Webdataset shards from the page and back: the user's captioned images saved as shards (the Data block's *Save as
 * webdataset shards*), those shards read back in Node by the project's tar and webdataset readers with the same
 * images and captions, then chosen as the training data and trained on for two steps.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Download, expect, test } from '@playwright/test';
import { PNG } from 'pngjs';
import { type ShardSample, shardSamples } from '../src/data/webdataset.ts';
import { collectErrors, expectLossPoints, expectAdapter } from './helpers.ts';

/** A 48 x 40 PNG of colour gradients, different for each `seed`. */
function gradientPng(seed: number): Uint8Array {
  const png = new PNG({ width: 48, height: 40 });
  for (let y = 0; y < 40; y++) {
    for (let x = 0; x < 48; x++) png.data.set([(x * 5 + seed * 40) % 256, (y * 6 + seed * 70) % 256, (seed * 50) % 256, 255], (y * 48 + x) * 4);
  }
  return PNG.sync.write(png);
}

const PICTURES = Array.from({ length: 6 }, (_, i) => ({
  file: `picture-${i}.png`,
  png: gradientPng(i),
  caption: `Picture number ${i}. Smooth gradients of colour, a little different from the others.`,
}));

test('saves the user’s images as shards that read back in Node, then trains on those shards', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const folder = testInfo.outputPath('pictures');
  mkdirSync(folder);
  for (const { file, png, caption } of PICTURES) {
    writeFileSync(join(folder, file), png);
    writeFileSync(join(folder, file.replace('.png', '.txt')), caption);
  }

  const errors = collectErrors(page);
  await page.goto('/?batch=4&steps=2');
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.getByTestId('data-folder-input').setInputFiles(folder);
  const summary = page.getByTestId('data-summary');
  await expect(summary).toHaveAttribute('data-kind', 'user', { timeout: 60_000 });
  await expect(summary).toHaveAttribute('data-used', String(PICTURES.length));

  // One shard of the six samples and sizes.json download; the torchrun command runs one process for one shard.
  const downloads: Download[] = [];
  page.on('download', (download) => downloads.push(download));
  await page.getByTestId('data-shards-button').click();
  await expect(page.getByTestId('data-shards-command')).toContainText('--nproc_per_node 1 -m main', { timeout: 60_000 });
  await expect(page.getByTestId('data-shards-command')).toContainText(`--train-data 'shard-0000.tar' --train-num-samples ${PICTURES.length}`);
  await expect(page.getByTestId('data-shards-note')).toContainText('1 shard, so 1 GPU');
  await expect.poll(() => downloads.length).toBe(2);
  const saved = new Map<string, string>();
  for (const download of downloads) {
    const path = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(path);
    saved.set(download.suggestedFilename(), path);
  }
  expect([...saved.keys()].sort()).toEqual(['shard-0000.tar', 'sizes.json']);
  expect(JSON.parse(readFileSync(saved.get('sizes.json')!, 'utf8'))).toEqual({ 'shard-0000.tar': PICTURES.length });

  // Read back in Node: every picture's own PNG bytes beside its caption, nothing skipped.
  const shardPath = saved.get('shard-0000.tar')!;
  const skipped: unknown[] = [];
  const samples: ShardSample[] = [];
  for await (const sample of shardSamples([{ name: 'shard-0000.tar', blob: new Blob([readFileSync(shardPath)]) }], (s) => skipped.push(s)))
    samples.push(sample);
  expect(skipped).toEqual([]);
  expect(samples).toHaveLength(PICTURES.length);
  for (const [i, { png, caption }] of PICTURES.entries()) {
    const sample = samples.find((s) => s.text === caption);
    expect(sample, caption).toBeDefined();
    expect(sample!.image.extension).toBe('png');
    expect(Buffer.from(sample!.image.bytes).equals(Buffer.from(png))).toBe(true);
    // DreamLIP's raw_caption: the caption's sentences, split as the app's text crops split them (textCrops.ts).
    expect(sample!.json?.raw).toEqual([`Picture number ${i}`, 'Smooth gradients of colour, a little different from the others']);
  }

  // The shard as training data: the same six pairs, then two training steps on them.
  await page.getByTestId('data-file-input').setInputFiles(shardPath);
  await expect(summary).toContainText('shard-0000.tar', { timeout: 60_000 });
  await expect(summary).toHaveAttribute('data-used', String(PICTURES.length));
  await expect(page.getByTestId('data-skipped')).toHaveCount(0);
  await page.getByTestId('train-button').click();
  await expectLossPoints(page, 2);
  expect(Number.isFinite(Number(await page.getByTestId('chart-loss-total').getAttribute('data-value')))).toBe(true);
  await expect(page.getByTestId('train-status')).toHaveText('Finished: 2 steps.', { timeout: 60_000 });
  expect(errors).toEqual([]);
});
