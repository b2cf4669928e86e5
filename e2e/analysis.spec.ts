/**
 * The analysis side of the app, used as a person would: the attention panel's heatmaps (normalized to [0, 1],
 * non-uniform, changing with the head), the figure export, retrieval, zero-shot, segmentation, and loading a
 * checkpoint through the file input, after which zero-shot runs on the loaded model.
 */
import { type Locator, type Page, expect, test } from '@playwright/test';
import { collectErrors, expectAdapter, makeAppCheckpoint } from './helpers.ts';

/** Statistics the heatmap canvas exposes for its normalized values. */
async function mapStats(canvas: Locator) {
  const read = async (name: string) => Number(await canvas.getAttribute(`data-${name}`));
  return { min: await read('min'), max: await read('max'), std: await read('std'), signature: await canvas.getAttribute('data-signature') };
}

async function shoot(page: Page, panel: Locator, path: string) {
  await panel.scrollIntoViewIfNeeded();
  await page.screenshot({ path, fullPage: true });
}

/** Opens a tab of the app. */
async function openTab(page: Page, tab: string) {
  await page.getByTestId(`tab-${tab}`).click();
}

test('explains a held-out scene, exports the figure, retrieves, classifies, segments and loads a checkpoint', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const checkpoint = makeAppCheckpoint(testInfo);

  const errors = collectErrors(page);
  await page.goto('/?tab=attention&scene=3');
  await expectAdapter(page);
  const panel = page.getByTestId('attention-panel');
  await expect(panel).toBeVisible();

  // The patch-wise map: min-max normalized per map, so exactly [0, 1]; and not uniform.
  const patchMap = page.getByTestId('patch-map');
  await expect(patchMap).toBeVisible({ timeout: 60_000 });
  const mean = await mapStats(patchMap);
  expect(mean.min).toBe(0);
  expect(mean.max).toBe(1);
  expect(mean.std).toBeGreaterThan(0.05);
  await expect(page.getByTestId('token-map').locator('.token').first()).toBeVisible();
  const tokenCount = Number(await page.getByTestId('token-map').getAttribute('data-count'));
  expect(tokenCount).toBeGreaterThan(10);
  // The specials toggle shows SOT, EOT and the padding: all 77 positions.
  await page.getByTestId('attention-special').check();
  await expect(page.getByTestId('token-map')).toHaveAttribute('data-count', '77');
  await page.getByTestId('attention-special').uncheck();
  // The vision tower's own attention beside it: every layer and head, and the rollout.
  await expect(page.getByTestId('rollout-map')).toHaveAttribute('data-max', '1');
  await expect(page.getByTestId('self-attention').locator('canvas')).toHaveCount(1 + 2 * 2);

  // One head, then the other: each is its own map, in [0, 1], and they differ.
  const head = page.getByTestId('attention-head');
  await head.selectOption('0');
  await expect(patchMap).not.toHaveAttribute('data-signature', mean.signature!);
  const first = await mapStats(patchMap);
  await head.selectOption('1');
  await expect(patchMap).not.toHaveAttribute('data-signature', first.signature!);
  const second = await mapStats(patchMap);
  for (const stats of [first, second]) expect([stats.min, stats.max]).toEqual([0, 1]);
  expect(page.url()).toContain('head=1');

  // A sentence of the long caption: its own map.
  await page.getByTestId('attention-sentence-0').click();
  await expect(patchMap).toHaveAttribute('aria-label', /sentence/);
  await shoot(page, panel, testInfo.outputPath('attention-1280x800.png'));

  // The figure as a PNG file.
  const download = page.waitForEvent('download');
  await page.getByTestId('attention-export').click();
  const file = await download;
  expect(file.suggestedFilename()).toBe('cosmos-attention-scene3.png');
  await file.saveAs(testInfo.outputPath('attention-figure.png'));

  // The user's own picture, with a caption typed for it; then back to the scene.
  await page.getByTestId('attention-upload').setInputFiles('fixtures/images/rgb-400x300.png');
  await expect(page.getByTestId('attention-scene')).toHaveValue('upload');
  await page.getByTestId('attention-caption').fill('a colourful test pattern');
  await page.getByTestId('attention-caption').press('Enter');
  await expect(page.getByTestId('token-map')).toContainText('pattern', { timeout: 60_000 });
  await expect(patchMap).toHaveAttribute('data-max', '1');
  await shoot(page, panel, testInfo.outputPath('attention-upload-1280x800.png'));
  await page.getByTestId('attention-scene').selectOption('3');
  await expect(page.getByTestId('token-map')).toContainText('crab', { timeout: 60_000 });
  const untrainedSignature = (await mapStats(patchMap)).signature;

  await page.setViewportSize({ width: 800, height: 1000 });
  await shoot(page, panel, testInfo.outputPath('attention-800.png'));
  await page.setViewportSize({ width: 1280, height: 800 });

  // Retrieval: the matrix, Recall@1/5/10 both ways, the top matches of a clicked row.
  await openTab(page, 'retrieval');
  const matrix = page.getByTestId('retrieval-matrix');
  await expect(matrix).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('retrieval-recall').locator('td')).toHaveCount(6);
  await matrix.click({ position: { x: 160, y: 315 } });
  await expect(page.getByTestId('retrieval-topk')).toContainText('Image 31');
  await expect(page.getByTestId('retrieval-topk').locator('li')).toHaveCount(10);
  await shoot(page, page.getByTestId('retrieval-panel'), testInfo.outputPath('retrieval-1280x800.png'));

  // Zero-shot on the scene's own classes, ranked.
  await openTab(page, 'zeroshot');
  const ranked = page.getByTestId('zeroshot-ranked').locator('li');
  await expect(ranked.first()).toBeVisible({ timeout: 60_000 });
  const classCount = await ranked.count();
  expect(classCount).toBeGreaterThanOrEqual(3);
  await shoot(page, page.getByTestId('zeroshot-panel'), testInfo.outputPath('zeroshot-1280x800.png'));

  // Segmentation with CSA: a class map with its legend.
  await openTab(page, 'segment');
  await page.getByTestId('segment-csa').check();
  await expect(page.getByTestId('segment-map')).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('segment-legend').locator('li')).toHaveCount(classCount + 1);
  await shoot(page, page.getByTestId('segment-panel'), testInfo.outputPath('segment-1280x800.png'));

  // Load the checkpoint through the file input; the progress bar shows while the weights upload.
  await openTab(page, 'checkpoints');
  await page.getByTestId('checkpoint-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('checkpoint-loaded')).toContainText('app-tiny.pt', { timeout: 60_000 });
  // The progress events arrived: the student's and the teacher's weights, 13.5 MB each.
  await expect(page.getByTestId('checkpoint-loaded')).toContainText(/2\d(\.\d+)? MiB of weights uploaded/);
  await shoot(page, page.getByTestId('checkpoints-panel'), testInfo.outputPath('checkpoints-1280x800.png'));

  // Zero-shot on the loaded model, with classes typed.
  await openTab(page, 'zeroshot');
  await page.getByTestId('zeroshot-classes').fill('cat, dog, red apple, light blue sky');
  await page.getByTestId('zeroshot-classes').press('Enter');
  // The scene's own classes may be four too: wait for the typed ones, not for a count the old list already has.
  const labels = () => ranked.evaluateAll((items) => items.map((li) => li.getAttribute('data-label')));
  await expect.poll(async () => [...(await labels())].sort(), { timeout: 60_000 }).toEqual(['cat', 'dog', 'light blue sky', 'red apple']);
  const probabilities = await ranked.evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-probability'))));
  expect(probabilities).toEqual([...probabilities].sort((a, b) => b - a));
  expect(probabilities.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
  await shoot(page, page.getByTestId('zeroshot-panel'), testInfo.outputPath('zeroshot-loaded-1280x800.png'));

  // The loaded model explains a scene: the image with its patch heatmap, the caption with its token heatmap.
  await openTab(page, 'attention');
  await page.getByTestId('attention-run').click();
  await expect(page.getByTestId('attention-status')).toHaveAttribute('data-busy', 'false', { timeout: 60_000 });
  await expect(patchMap).toHaveAttribute('data-max', '1');
  const loaded = await mapStats(patchMap);
  expect(loaded.std).toBeGreaterThan(0);
  expect(loaded.signature, 'the map comes from the loaded weights').not.toBe(untrainedSignature);
  await expect(page.getByTestId('token-map')).toContainText('crab');
  await shoot(page, panel, testInfo.outputPath('attention-loaded-1280x800.png'));

  await expect(page.getByTestId('zeroshot-error')).toHaveCount(0);
  expect(errors, 'console errors during the run').toEqual([]);
});
