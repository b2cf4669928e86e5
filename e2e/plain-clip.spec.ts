/**
 * A plain CLIP model, loaded as a person holds one (a Hugging Face CLIPModel folder's two files chosen together):
 * the Checkpoints panel names what it is, the Attention panel says plainly why it shows no cross-attention maps and
 * still shows the ViT's self-attention and the relevance of both towers, and the panels that need no pooler (retrieval, zero-shot) run on it.
 * Then it starts a COSMOS fine-tune: with both towers frozen, exactly COSMOS's added parts, both projections and
 * logit_scale train.
 */
import { readFileSync } from 'node:fs';
import { expect, test } from '@playwright/test';
import { collectErrors, expectLossPoints, expectAdapter, makePlainClipFolder } from './helpers.ts';

/** Element counts of a safetensors file's tensors, by name, from its JSON header. */
function safetensorsSizes(path: string): Map<string, number> {
  const bytes = readFileSync(path);
  const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString('utf8')) as Record<string, { shape?: number[] }>;
  return new Map(
    Object.entries(header)
      .filter(([name]) => name !== '__metadata__')
      .map(([name, t]) => [name, (t.shape ?? []).reduce((a, b) => a * b, 1)]),
  );
}

test('loads a plain CLIP model, names it, and explains why it has no cross-attention maps', async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  const files = makePlainClipFolder(testInfo);
  const errors = collectErrors(page);
  await page.goto('/?tab=checkpoints&batch=4&steps=40');
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

  // A COSMOS fine-tune of it with both towers frozen: the parameters beyond the file's are COSMOS's added parts, and
  // those, the two projections (transformers' visual_projection and text_projection) and logit_scale are what trains.
  await page.getByTestId('tab-train').click();
  await page.getByTestId('setting-freeze').check();
  await page.getByTestId('train-button').click();
  const facts = page.getByTestId('model-facts');
  await expect(facts).toContainText('towers frozen', { timeout: 60_000 });
  const [parameters, trained] = ((await facts.innerText()).match(/[\d,]+(?= parameters)|[\d,]+(?= trained)/g) ?? []).map((n) => Number(n.replaceAll(',', '')));
  const file = safetensorsSizes(files[1]!);
  const plain = [...file.values()].reduce((a, b) => a + b, 0);
  const heads = ['visual_projection.weight', 'text_projection.weight', 'logit_scale'].reduce((n, name) => n + file.get(name)!, 0);
  expect(parameters! - plain).toBeGreaterThan(0);
  expect(trained).toBe(parameters! - plain + heads);
  await expectLossPoints(page, 2);
  await page.getByTestId('pause-button').click();
  expect(errors).toEqual([]);
});
