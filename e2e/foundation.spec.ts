import { expect, test } from '@playwright/test';
import { captureEngineDevices, collectErrors, engineDeviceCount, engineWorker, expectAdapter, loseEngineDevice, snapshot } from './helpers.ts';

test('finds a WebGPU adapter and passes the GPU self-test', async ({ page }, testInfo) => {
  const errors = collectErrors(page);
  await page.goto('/');
  await expect(page).toHaveTitle('cosmos-web');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('cosmos-web');

  await expectAdapter(page);
  await expect(page.getByTestId('adapter-name')).not.toBeEmpty();
  await expect(page.getByTestId('adapter-fallback')).toHaveAttribute('data-value', /^(true|false)$/);
  await expect(page.getByTestId('adapter-fallback')).toHaveText(/^(yes|no)$/);
  // The kernel shape: a fallback adapter gets the CPU one unmeasured; any other adapter's is measured.
  const fallback = (await page.getByTestId('adapter-fallback').getAttribute('data-value')) === 'true';
  const kernels = page.getByTestId('adapter-kernels');
  await expect(kernels).toHaveText(/^(CPU|GPU) shape, (subgroup|tiled) matmul \((measured here|from the adapter kind)\)$/);
  await expect(kernels).toHaveAttribute('data-source', fallback ? 'assumed' : 'measured');
  if (fallback) await expect(kernels).toHaveAttribute('data-cpu-shape', 'true');
  await expect(page.getByTestId('gpu-status')).toHaveAttribute('data-phase', 'ready');

  // The limits were raised to what the adapter offers, and bytes read as MiB/GiB.
  const maxBinding = page.getByTestId('limit-maxStorageBufferBindingSize');
  expect(Number(await maxBinding.getAttribute('data-value'))).toBeGreaterThan(128 * 1024 * 1024);
  await expect(maxBinding).toHaveText(/^\d+(\.\d+)? (MiB|GiB)$/);
  await expect(page.getByTestId('adapter-features')).toBeVisible();

  // The self-test starts by itself once the adapter is found.
  const status = page.getByTestId('selftest-status');
  await expect(status).toHaveAttribute('data-status', /^(passed|failed|error)$/);
  const selfTestError = page.getByTestId('selftest-error');
  if (await selfTestError.isVisible()) throw new Error(`GPU self-test error: ${await selfTestError.innerText()}`);
  await expect(status).toHaveText('passed');
  await expect(page.getByTestId('selftest-n')).toHaveAttribute('data-value', '100003');
  await expect(page.getByTestId('selftest-mismatches')).toHaveAttribute('data-value', '0');
  expect(Number(await page.getByTestId('selftest-max-error').getAttribute('data-value'))).toBeLessThan(1e-4);
  // The sample rows show the GPU and JS numbers side by side, equal to the digits shown.
  for (const row of await page.getByTestId('selftest-sample').locator('tbody tr').all()) {
    const [, gpu, js] = await row.locator('td').allInnerTexts();
    expect(gpu).toBe(js);
  }

  // Run again: the button works and the result is the same.
  await page.getByTestId('selftest-rerun').click();
  await expect(status).toHaveText('passed');
  await expect(page.getByTestId('selftest-mismatches')).toHaveAttribute('data-value', '0');

  await snapshot(page, testInfo, 'foundation-1280x800', 1280, 800);
  await snapshot(page, testInfo, 'foundation-800x1000', 800, 1000);
  expect(errors, 'console errors during the run').toEqual([]);
});

test('a lost device is said in the page and replaced: the engine worker owns the one device', async ({ page }) => {
  // The self-test runs again on the new device: two runs of it on a CPU adapter.
  test.setTimeout(240_000);
  const errors = collectErrors(page);
  // Keep a handle on the device the engine creates, so the test can lose it.
  await captureEngineDevices(page);
  // The page itself asks for no adapter at all.
  await page.addInitScript(() => {
    const requestAdapter = GPU.prototype.requestAdapter;
    (window as unknown as { __adapterRequests: number }).__adapterRequests = 0;
    GPU.prototype.requestAdapter = function (this: GPU, options?: GPURequestAdapterOptions) {
      (window as unknown as { __adapterRequests: number }).__adapterRequests++;
      return requestAdapter.call(this, options);
    };
  });
  await page.goto('/');
  await expectAdapter(page);
  await expect(page.getByTestId('selftest-status')).toHaveText('passed');
  expect(await page.evaluate(() => (window as unknown as { __adapterRequests: number }).__adapterRequests)).toBe(0);
  const worker = await engineWorker(page);
  // One device in the whole page: the worker's.
  expect(await engineDeviceCount(worker)).toBe(1);
  // Lose it once the run is built: this test is about the notice and the one device (a loss during a build: device-lost.spec.ts).
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await loseEngineDevice(worker, 0);
  // The worker acquires a new device and builds the run again (nothing was trained or saved yet); the page says so.
  await expect(page.getByTestId('engine-error')).toContainText(
    'The GPU device was lost (destroyed) at step 0; a new one was acquired and the run restored from its start.',
    { timeout: 60_000 },
  );
  expect(await engineDeviceCount(worker)).toBe(2);
  await expect(page.getByTestId('gpu-status')).not.toHaveText('device lost');
  await expect(page.getByTestId('selftest-status')).toHaveText('passed', { timeout: 120_000 });
  expect(errors, 'console errors during the run').toEqual([]);
});

test('a lost device that no new one replaces: the badge says so', async ({ page }) => {
  await captureEngineDevices(page, { replaceable: false });
  await page.goto('/');
  await expectAdapter(page);
  await expect(page.getByTestId('gpu-status')).toHaveText('WebGPU ready');
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await loseEngineDevice(await engineWorker(page), 0);
  await expect(page.getByTestId('gpu-status')).toHaveText('device lost');
});
