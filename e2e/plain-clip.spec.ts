/**
 * A plain CLIP model, loaded as a person holds one (a Hugging Face CLIPModel folder's two files chosen together):
 * the Checkpoints panel names what it is, the Attention panel says plainly why it shows no cross-attention maps and
 * still shows the ViT's self-attention and the relevance of both towers, and the panels that need no pooler (retrieval, zero-shot) run on it.
 */
import { expect, test } from '@playwright/test';
import { collectErrors, expectAdapter, makePlainClipFolder } from './helpers.ts';

test('loads a plain CLIP model, names it, and explains why it has no cross-attention maps', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const files = makePlainClipFolder(testInfo);
  const errors = collectErrors(page);
  await page.goto('/?tab=checkpoints');
  await expectAdapter(page);

  await page.getByTestId('checkpoint-file').setInputFiles(files);
  const loaded = page.getByTestId('checkpoint-loaded');
  await expect(loaded).toBeVisible({ timeout: 60_000 });
  await expect(page.getByTestId('checkpoint-kind')).toHaveText('Hugging Face tiny preset, float32');
  await expect(loaded).toContainText('architecture from config.json');
  await expect(loaded).toContainText('A plain CLIP model: COSMOS’s poolers, token mappings and distillation temperature were added, untrained');
  await page.screenshot({ path: testInfo.outputPath('plain-clip-checkpoints-1280x800.png'), fullPage: true });

  await page.getByTestId('tab-attention').click();
  const unavailable = page.getByTestId('cross-attention-unavailable');
  await expect(unavailable).toContainText('is a plain CLIP model (Hugging Face, tiny preset): it has no cross-attention poolers', { timeout: 60_000 });
  await expect(page.getByTestId('patch-map')).toHaveCount(0);
  await expect(page.getByTestId('rollout-map')).toHaveAttribute('data-max', '1', { timeout: 60_000 });
  // Relevance needs no pooler: both towers' maps of the plain CLIP model.
  await page.getByTestId('attention-relevance').check();
  await expect(page.getByTestId('relevance-map')).toHaveAttribute('data-max', '1', { timeout: 60_000 });
  await expect(page.getByTestId('relevance-tokens')).toHaveAttribute('data-max', '1');
  await page.screenshot({ path: testInfo.outputPath('plain-clip-attention-1280x800.png'), fullPage: true });

  await page.getByTestId('tab-retrieval').click();
  await expect(page.getByTestId('retrieval-matrix')).toBeVisible({ timeout: 60_000 });
  await page.getByTestId('tab-zeroshot').click();
  await expect(page.getByTestId('zeroshot-ranked').locator('li').first()).toBeVisible({ timeout: 60_000 });
  expect(errors).toEqual([]);
});
