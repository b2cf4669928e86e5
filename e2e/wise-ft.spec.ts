/**
 * WiSE-FT in the Evaluate tab: a checkpoint loaded and fine-tuned a few steps, then mixed with the weights it was
 * loaded with. At alpha 0 the mix is the loaded checkpoint and at 1 the fine-tuned run (bit for bit, as
 * src/cosmos/wiseFt.test.ts checks), so its scores are those rows' own.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@playwright/test';
import { collectErrors, expectAdapter, expectNoEngineError, makeAppCheckpoint } from './helpers.ts';

const FOLDERS = join(import.meta.dirname, '..', 'fixtures', 'eval-data', 'folders');

test('mixes the loaded and the fine-tuned weights with the WiSE-FT slider and evaluates the mix', async ({ page }, testInfo) => {
  test.setTimeout(600_000);
  const errors = collectErrors(page);
  await page.goto('/?batch=2&steps=2&eval=100');
  const checkpoint = makeAppCheckpoint(testInfo);
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.getByTestId('tab-checkpoints').click();
  await page.getByTestId('checkpoint-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('checkpoint-loaded')).toContainText('app-tiny.pt', { timeout: 60_000 });
  await page.getByTestId('tab-train').click();
  await page.getByTestId('train-button').click();
  // The first steps compile the training kernels: minutes on a loaded CPU adapter.
  await expect
    .poll(
      async () => {
        await expectNoEngineError(page);
        return page.getByTestId('run-state').getAttribute('data-state');
      },
      { timeout: 420_000 },
    )
    .toBe('stopped');

  await page.getByTestId('tab-evaluate').click();
  await page.getByTestId('evaluate-folder-input').setInputFiles(FOLDERS);
  await page.getByTestId('evaluate-task').selectOption('classification');
  await page.getByTestId('evaluate-second-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('evaluate-second-name')).toContainText('app-tiny.pt', { timeout: 30_000 });
  await page.getByTestId('evaluate-run').click();
  const table = page.getByTestId('evaluate-table');
  await expect(table.locator('tbody th')).toHaveText([/^This run \(student, step 2\)$/, 'app-tiny.pt'], { timeout: 30_000 });

  for (const alpha of ['0', '1']) {
    await page.getByTestId('evaluate-alpha').fill(alpha);
    await page.getByTestId('evaluate-mix').click();
    await expect(table.locator('tbody th', { hasText: `WiSE-FT ${alpha}.00` })).toHaveCount(1, { timeout: 30_000 });
  }
  const downloading = page.waitForEvent('download');
  await page.getByTestId('evaluate-download').click();
  const results = JSON.parse(readFileSync(await (await downloading).path(), 'utf8')) as {
    report: { results: { label: string; metrics: Record<string, number> }[] };
  }[];
  const metrics = (label: RegExp) => results.flatMap((r) => r.report.results).find((r) => label.test(r.label))!.metrics;
  expect(metrics(/^WiSE-FT 0\.00/)).toEqual(metrics(/^app-tiny\.pt$/));
  expect(metrics(/^WiSE-FT 1\.00/)).toEqual(metrics(/^This run \(student/));
  expect(errors).toEqual([]);
});
