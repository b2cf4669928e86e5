/**
 * Fine-tuning on the user's own images, as a person would: load a checkpoint, choose a zip of images with a
 * captions.jsonl (one image in it does not decode), see what was used and what was skipped, freeze both towers,
 * train a few steps on those images, then go back to the built-in scenes.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { TextReader, Uint8ArrayReader, Uint8ArrayWriter, ZipWriter, configure } from '@zip.js/zip.js';
import { PNG } from 'pngjs';
import { collectErrors, expectLossPoints, expectAdapter, makeAppCheckpoint, snapshot } from './helpers.ts';

const COLORS: Record<string, [number, number, number]> = {
  red: [220, 40, 40],
  green: [40, 170, 60],
  blue: [40, 80, 220],
  yellow: [240, 210, 40],
};
const BACKGROUNDS: Record<string, [number, number, number]> = { white: [245, 245, 245], black: [20, 20, 20], grey: [128, 128, 128] };

/** A 64 x 64 PNG: a filled square or disc of `color` in the middle of `background`. */
function shapePng(shape: 'square' | 'disc', color: [number, number, number], background: [number, number, number]): Uint8Array {
  const png = new PNG({ width: 64, height: 64 });
  for (let y = 0; y < 64; y++) {
    for (let x = 0; x < 64; x++) {
      const inside = shape === 'square' ? Math.abs(x - 32) < 18 && Math.abs(y - 32) < 18 : (x - 32) ** 2 + (y - 32) ** 2 < 20 ** 2;
      png.data.set([...(inside ? color : background), 255], (y * 64 + x) * 4);
    }
  }
  return PNG.sync.write(png);
}

/** 12 captioned shapes: every colour on every background, squares and discs in turn. */
function shapes(): { file: string; png: Uint8Array; caption: string }[] {
  return Object.entries(COLORS).flatMap(([colorName, color], c) =>
    Object.entries(BACKGROUNDS).map(([backgroundName, background], b) => {
      const shape = (c + b) % 2 === 0 ? 'square' : 'disc';
      return {
        file: `${colorName}-${shape}-on-${backgroundName}.png`,
        png: shapePng(shape, color, background),
        caption: `A ${colorName} ${shape} on a ${backgroundName} background. The ${shape} is large and in the middle.`,
      };
    }),
  );
}

/** A 1200 x 900 PNG of smooth colour gradients: a photo-sized image, which the browser decodes scaled down. */
function largePng(): Uint8Array {
  const png = new PNG({ width: 1200, height: 900 });
  for (let y = 0; y < 900; y++) {
    for (let x = 0; x < 1200; x++) png.data.set([(x * 255) / 1200, (y * 255) / 900, 128, 255], (y * 1200 + x) * 4);
  }
  return PNG.sync.write(png);
}

/** A small PNG whose header claims 20000 x 20000 pixels: what a decompression bomb looks like before decoding. */
function bombPng(): Uint8Array {
  const png = new Uint8Array(shapePng('square', COLORS.red!, BACKGROUNDS.white!));
  const header = new DataView(png.buffer);
  header.setUint32(16, 20000);
  header.setUint32(20, 20000);
  return png;
}

/**
 * shapes.zip: the shapes in shapes/ with a captions.jsonl, shapes/broken.png, which is not an image, and
 * shapes/bomb.png, which claims 400 megapixels.
 */
async function shapesZip(): Promise<Uint8Array> {
  configure({ useWebWorkers: false });
  const zip = new ZipWriter(new Uint8ArrayWriter());
  const lines: string[] = [];
  for (const { file, png, caption } of shapes()) {
    await zip.add(`shapes/${file}`, new Uint8ArrayReader(png));
    lines.push(JSON.stringify({ file, caption }));
  }
  await zip.add('shapes/broken.png', new TextReader('this is not a PNG file'));
  lines.push(JSON.stringify({ file: 'broken.png', caption: 'A picture that will not decode.' }));
  await zip.add('shapes/bomb.png', new Uint8ArrayReader(bombPng()));
  lines.push(JSON.stringify({ file: 'bomb.png', caption: 'A picture far too large to decode.' }));
  await zip.add('shapes/captions.jsonl', new TextReader(lines.join('\n')));
  return zip.close();
}

test('fine-tunes a loaded checkpoint on a zip of the user’s images with frozen towers, and lists what it skipped', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const checkpoint = makeAppCheckpoint(testInfo);
  const zipPath = testInfo.outputPath('shapes.zip');
  writeFileSync(zipPath, await shapesZip());

  const errors = collectErrors(page);
  await page.goto('/?batch=4&steps=10&eval=5');
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await expect(page.getByTestId('data-summary')).toHaveAttribute('data-kind', 'built-in');

  // The released-layout checkpoint to fine-tune.
  await page.getByTestId('tab-checkpoints').click();
  await page.getByTestId('checkpoint-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('checkpoint-loaded')).toContainText('app-tiny.pt', { timeout: 60_000 });
  await page.getByTestId('tab-train').click();
  await expect(page.getByTestId('model-facts')).toContainText('loaded');

  // The zip: 12 pairs used (every 10th held out, so 1); the image that does not decode and the one too large to
  // decode listed with their reasons.
  await page.getByTestId('data-file-input').setInputFiles(zipPath);
  const summary = page.getByTestId('data-summary');
  await expect(summary).toHaveAttribute('data-kind', 'user', { timeout: 60_000 });
  await expect(summary).toHaveAttribute('data-used', '12');
  await expect(summary).toContainText('shapes.zip');
  await expect(summary).toContainText('1 held out');
  await expect(summary).toContainText('shapes/captions.jsonl');
  const skipped = page.getByTestId('data-skipped');
  await expect(skipped).toHaveAttribute('data-count', '2');
  await skipped.locator('summary').click();
  await expect(skipped.locator('li')).toHaveText([
    'shapes/bomb.png: 20000 x 20000 pixels (400 MP) is more than the 89.5 MP an image may have here; resize it first',
    /^shapes\/broken\.png: .+/,
  ]);
  await expect(page.getByTestId('train-status')).toContainText('loaded model on shapes.zip');

  // Freeze both towers: the address says so, and the rebuilt run trains only the poolers, mappings and projections.
  await page.getByTestId('setting-freeze').check();
  await expect(page).toHaveURL(/freeze=1/);
  await page.getByTestId('train-button').click();
  await expect(page.getByTestId('model-facts')).toContainText('towers frozen', { timeout: 60_000 });
  await expect(page.getByTestId('model-facts')).toContainText('loaded');
  await expectLossPoints(page, 2);
  expect(Number.isFinite(Number(await page.getByTestId('chart-loss-total').getAttribute('data-value')))).toBe(true);
  await page.getByTestId('pause-button').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'paused');

  // The attention panel explains the user's held-out image with its own caption.
  await page.getByTestId('tab-attention').click();
  const heldOut = page.getByTestId('attention-heldout');
  await expect(heldOut.locator('option')).toHaveCount(2); // the prompt, then the one held-out pair
  const listed = (await heldOut.locator('option').nth(1).innerText()).replace(/^Held-out 0: /, '').replace(/…$/, '');
  await heldOut.selectOption('0');
  await expect(page.getByTestId('attention-scene')).toContainText('Your image: held-out 0 of shapes.zip');
  // The full caption of that pair, which the list showed shortened.
  const caption = await page.getByTestId('attention-caption').inputValue();
  expect(shapes().map((shape) => shape.caption)).toContain(caption);
  expect(caption.startsWith(listed)).toBe(true);
  // The maps are those of this image and caption once the panel is idle: its shape's name is among the tokens.
  await expect(page.getByTestId('attention-status')).toHaveAttribute('data-busy', 'false', { timeout: 60_000 });
  await expect(page.getByTestId('token-map')).toContainText(caption.split(' ')[2]!); // 'square' or 'disc': no scene says that
  await expect(page.getByTestId('patch-map')).toHaveAttribute('data-max', '1');
  await snapshot(page, testInfo, 'attention-user-image-1280x800', 1280, 800);
  await page.getByTestId('tab-train').click();

  // The fine-tuned model downloads as a released-layout .pt (a torch zip archive), streamed via browser storage.
  const downloading = page.waitForEvent('download');
  await page.getByTestId('download-button').click();
  const download = await downloading;
  expect(download.suggestedFilename()).toMatch(/^cosmos-web-loaded-cosmos-step\d+\.pt$/);
  const exported = download.suggestedFilename();
  const bytes = readFileSync(await download.path());
  expect(bytes.subarray(0, 4)).toEqual(Buffer.from('PK\x03\x04', 'latin1'));
  expect(bytes.length).toBeGreaterThan(2 * 3_368_130 * 4); // student and teacher in float32, and the optimizer's moments
  // Its OpenCLIP config beside it, every key named: both poolers' heads too (a reader's default would be 8).
  const configDownload = page.waitForEvent('download');
  await page.getByTestId('download-config-button').click();
  const config = JSON.parse(readFileSync(await (await configDownload).path(), 'utf8'));
  expect(config.vision_cfg.attn_pooler_heads).toBeGreaterThan(0);
  expect(config.text_cfg.attn_pooler_heads).toBeGreaterThan(0);
  expect(Object.keys(config.text_cfg)).toEqual(['context_length', 'vocab_size', 'width', 'heads', 'layers', 'mlp_ratio', 'attn_pooler_heads', 'norm_kwargs']);
  expect(config.quick_gelu).toBe(false);
  await snapshot(page, testInfo, 'train-user-data-1280x800', 1280, 800);
  await snapshot(page, testInfo, 'train-user-data-800', 800, 1000);

  // Back to the built-in scenes while paused.
  await page.getByTestId('data-builtin-button').click();
  await expect(summary).toHaveAttribute('data-kind', 'built-in');

  // A folder with a .txt beside each image, through the folder input: paths relative to the chosen folder. One
  // image is photo-sized.
  const folder = testInfo.outputPath('my-shapes');
  mkdirSync(folder);
  for (const { file, png, caption } of shapes().slice(0, 5)) {
    writeFileSync(join(folder, file), png);
    writeFileSync(join(folder, file.replace('.png', '.txt')), caption);
  }
  writeFileSync(join(folder, 'gradient.png'), largePng());
  writeFileSync(join(folder, 'gradient.txt'), 'A smooth gradient from blue to pink. It fills the whole picture.');
  await page.getByTestId('data-folder-input').setInputFiles(folder);
  await expect(summary).toHaveAttribute('data-kind', 'user');
  await expect(summary).toHaveAttribute('data-used', '6');
  await expect(summary).toContainText('my-shapes');
  await expect(summary).toContainText('per-image .txt files');
  await expect(page.getByTestId('data-skipped')).toHaveCount(0);

  // A reload brings back the run saved at the pause; the files are not kept, and the page says which to choose.
  await page.reload();
  await page.getByTestId('resume-saved-button').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'paused', { timeout: 60_000 });
  await expect(page.getByTestId('data-choose-again')).toContainText('Before the reload this run trained on shapes.zip');
  await expect(page.getByTestId('data-choose-again')).toContainText('until then it trains on the built-in scenes');

  // The export stayed in the browser's storage, beside the autosave: download it again, load it, delete it.
  await page.getByTestId('tab-checkpoints').click();
  const row = page.locator(`[data-testid="saved-checkpoint"][data-name="${exported}"]`);
  await expect(row).toBeVisible();
  await expect(page.locator('[data-testid="saved-checkpoint"][data-name="autosave.pt"]')).toBeVisible();
  const again = page.waitForEvent('download');
  await row.getByTestId('saved-download').click();
  expect(readFileSync(await (await again).path()).equals(bytes)).toBe(true);
  await row.getByTestId('saved-load').click();
  await expect(page.getByTestId('checkpoint-loaded')).toContainText(`Loaded ${exported} (COSMOS tiny preset, float32, student weights`, { timeout: 60_000 });
  await snapshot(page, testInfo, 'checkpoints-saved-1280x800', 1280, 800);
  await snapshot(page, testInfo, 'checkpoints-saved-800', 800, 1000);
  await row.getByTestId('saved-delete').click();
  await row.getByTestId('saved-delete-confirm').click();
  await expect(row).toHaveCount(0);
  await expect(page.locator('[data-testid="saved-checkpoint"][data-name="autosave.pt"]')).toBeVisible();
  expect(errors).toEqual([]);
});
