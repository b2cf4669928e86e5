import { expect, test } from '@playwright/test';
import { collectErrors, prependToEngineWorker, snapshot } from './helpers.ts';

// The engine worker owns the GPU device: what the browser lacks is taken away in the worker, before its code runs.

test('says so in the page when the browser does not offer WebGPU', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  // navigator.gpu is a getter on WorkerNavigator.prototype: remove it there so `'gpu' in navigator` is false.
  await prependToEngineWorker(page, 'delete WorkerNavigator.prototype.gpu;');
  await page.goto('/');
  const error = page.getByTestId('webgpu-error');
  await expect(error).toBeVisible();
  await expect(error).toContainText('does not offer WebGPU');
  await expect(error).toContainText('--enable-unsafe-webgpu');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-phase', 'unavailable');
  await expect(page.getByTestId('selftest-rerun')).toBeDisabled();
  await snapshot(page, testInfo, 'no-webgpu-800x1000', 800, 1000);
  expect(errors, 'console errors during the run').toEqual([]);
});

test('says so in the page when WebGPU finds no adapter', async ({ page }) => {
  const errors = collectErrors(page);
  await prependToEngineWorker(page, 'GPU.prototype.requestAdapter = async () => null;');
  await page.goto('/');
  await expect(page.getByTestId('webgpu-error')).toContainText('no GPU adapter was found');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-phase', 'unavailable');
  expect(errors, 'console errors during the run').toEqual([]);
});
