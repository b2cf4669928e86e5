/**
 * The Attention panel's "Relevance (gradient × attention)", used as a person would: turned on for a held-out scene,
 * its image and token maps normalized to [0, 1], the start-block slider giving another map, one sentence of the
 * caption its own, the figure exported, and the user's own picture explained with a caption typed for it.
 */
import { type Locator, expect, test } from '@playwright/test';
import { collectErrors, expectAdapter } from './helpers.ts';

const signature = (canvas: Locator) => canvas.getAttribute('data-signature');

test('explains a scene and an uploaded picture with gradient × attention relevance, from any start block', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  await page.goto('/?tab=attention&scene=3');
  await expectAdapter(page);
  await page.getByTestId('attention-relevance').check();
  expect(page.url()).toContain('relevance=1');

  const map = page.getByTestId('relevance-map');
  const tokens = page.getByTestId('relevance-tokens');
  await expect(map).toHaveAttribute('data-max', '1', { timeout: 60_000 });
  await expect(map).toHaveAttribute('data-min', '0');
  await expect(tokens).toContainText('crab');
  await expect(tokens).toHaveAttribute('data-max', '1');
  await expect(map).toHaveAttribute('aria-label', /for the caption, from block 2$/);

  // Block 1 of 2: the maps for relevance started at the first block, without a new request.
  const slider = page.getByTestId('relevance-start');
  const fromLast = await signature(map);
  await slider.fill('1');
  await expect(map).toHaveAttribute('aria-label', /from block 1$/);
  // The start block is shared in the address, as the other analysis settings are.
  expect(page.url()).toContain('start=1');
  await expect(map).not.toHaveAttribute('data-signature', fromLast!);
  await expect(page.getByTestId('relevance-block')).toHaveAttribute('data-busy', 'false');

  // One sentence of the long caption: its own relevance.
  const fromFirst = await signature(map);
  await page.getByTestId('attention-sentence-0').click();
  await expect(map).toHaveAttribute('aria-label', /for the sentence "/);
  await expect(map).not.toHaveAttribute('data-signature', fromFirst!);
  await page.screenshot({ path: testInfo.outputPath('relevance-1280x800.png'), fullPage: true });

  const download = page.waitForEvent('download');
  await page.getByTestId('relevance-export').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('cosmos-relevance-scene3.png');
  await file.saveAs(testInfo.outputPath('relevance-figure.png'));

  // The user's own picture, with a caption typed for it.
  await page.getByTestId('attention-upload').setInputFiles('fixtures/images/rgb-400x300.png');
  await page.getByTestId('attention-caption').fill('a colourful test pattern');
  await page.getByTestId('attention-caption').press('Enter');
  await expect(tokens).toContainText('pattern', { timeout: 60_000 });
  await expect(map).toHaveAttribute('data-max', '1');
  await expect(map).toHaveAttribute('aria-label', /for the caption, from block 1$/);
  expect(errors).toEqual([]);
});
