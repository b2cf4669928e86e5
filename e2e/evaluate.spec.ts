/**
 * The Evaluate tab as a person uses it: choose a folder of class folders (scripts/make-eval-datasets.py's), load a
 * second model beside the run's, evaluate both, read the table (a row per model) and download the JSON, whose
 * metrics for the loaded checkpoint are those `cosmos eval` computes on the same files; then start ImageNet (1,000
 * classes of 80 prompts, minutes here) and Cancel it.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect, test } from '@playwright/test';
import { collectErrors, expectAdapter, makeAppCheckpoint, snapshot } from './helpers.ts';

const EVAL_DATA = join(import.meta.dirname, '..', 'fixtures', 'eval-data');
const FOLDERS = join(EVAL_DATA, 'folders');

interface CliJson {
  counts: { images: number; classes: number; templates: number; skipped: number };
  results: { metrics: Record<string, number> }[];
}

interface PageJson {
  dataset: string;
  layout: string;
  report: { images: number; classes: number; templates: number; skipped: unknown[]; results: { label: string; metrics: Record<string, number> }[] };
}

/** What `cosmos eval` says of the checkpoint on the class folders (its classnames.json and templates.json given). */
async function cliEval(checkpoint: string): Promise<CliJson> {
  const cli = ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'src/cli/main.ts'];
  const args = ['eval', '--checkpoint', checkpoint, '--task', 'classification', '--folders', FOLDERS];
  args.push('--classnames', join(FOLDERS, 'classnames.json'), '--templates', join(FOLDERS, 'templates.json'), '--json');
  const { stdout } = await promisify(execFile)('node', [...cli, ...args], { encoding: 'utf8' });
  return JSON.parse(stdout) as CliJson;
}

test('evaluates class folders with the run and a second model side by side, as the CLI does, and cancels ImageNet', async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = collectErrors(page);
  await page.goto('/');
  // Made while the page starts its engine; the CLI then runs while the page works.
  const checkpoint = makeAppCheckpoint(testInfo);
  const fromCli = cliEval(checkpoint);
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });

  await page.getByTestId('tab-evaluate').click();
  await page.getByTestId('evaluate-folder-input').setInputFiles(FOLDERS);
  await expect(page.getByTestId('evaluate-data-name')).toContainText('folders: 14 files');
  await page.getByTestId('evaluate-task').selectOption('classification');
  await page.getByTestId('evaluate-second-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('evaluate-second-name')).toContainText('app-tiny.pt', { timeout: 30_000 });
  await expect(page.getByTestId('evaluate-model-second')).toBeChecked();

  await page.getByTestId('evaluate-run').click();
  const table = page.getByTestId('evaluate-table');
  await expect(table).toBeVisible({ timeout: 30_000 });
  await expect(table.locator('thead th')).toHaveText(['Model', 'folders top-1']);
  await expect(table.locator('tbody th')).toHaveText([/^This run \(student, step 0\)$/, 'app-tiny.pt']);
  await expect(page.getByTestId('evaluate-details').locator('summary')).toContainText('folders: 12 images, 3 classes');

  const downloading = page.waitForEvent('download');
  await page.getByTestId('evaluate-download').click();
  const download = await downloading;
  const [result] = JSON.parse(readFileSync(await download.path(), 'utf8')) as PageJson[];
  expect(result!.layout).toBe('folders');
  const cli = await fromCli;
  const { images, classes, templates, skipped } = result!.report;
  expect({ images, classes, templates, skipped: skipped.length }).toEqual(cli.counts);
  // The same PNGs decoded the same way and the same kernels on the same adapter: the same predictions.
  const second = result!.report.results.find((r) => r.label === 'app-tiny.pt')!;
  expect(Object.keys(second.metrics).sort()).toEqual(['acc1', 'acc5', 'mean_per_class_recall']);
  expect(second.metrics).toEqual(cli.results[0]!.metrics);
  const cell = table.locator('tbody tr', { hasText: 'app-tiny.pt' }).locator('td');
  await expect(cell).toHaveText((100 * second.metrics.acc1!).toFixed(1));
  await snapshot(page, testInfo, 'evaluate-results', 1280, 900);

  // ImageNet's 1,000 classes of 80 prompts take minutes on a CPU adapter: Cancel stops them between batches.
  await page.getByTestId('evaluate-folder-input').setInputFiles(join(EVAL_DATA, 'imagenet'));
  await expect(page.getByTestId('evaluate-data-name')).toContainText('imagenet: 12 files');
  await page.getByTestId('evaluate-model-second').uncheck();
  await page.getByTestId('evaluate-run').click();
  await expect(page.getByTestId('evaluate-progress-text')).toContainText('prompts', { timeout: 30_000 });
  await page.getByTestId('evaluate-cancel').click();
  await expect(page.getByTestId('evaluate-error')).toHaveText(/^Could not evaluate: cancelled after \d+ of 1000 classes' prompts/, { timeout: 30_000 });
  await expect(page.getByTestId('evaluate-progress')).toHaveCount(0);
  await expect(table.locator('tbody tr')).toHaveCount(2);
  await expect(page.getByTestId('evaluate-run')).toBeEnabled();
  expect(errors).toEqual([]);
});
