import { expect, test } from '@playwright/test';
import { captureEngineDevices, collectErrors, engineDeviceCount, engineWorker, expectAdapter, loseEngineDevice, stepOf } from './helpers.ts';

test('a device lost while training: the page says so, a new device comes, the run returns from its autosave and trains on', async ({ page }) => {
  test.setTimeout(900_000);
  const errors = collectErrors(page);
  // Keep a handle on each device the engine creates, so the test can lose it as a driver reset would.
  await captureEngineDevices(page);
  await page.goto('/?batch=4&steps=40');
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  await page.getByTestId('train-button').click();
  await expect.poll(() => stepOf(page), { timeout: 300_000 }).toBeGreaterThanOrEqual(1);

  // A pause saves the run in this browser; training then goes on, and the device is lost in its next step.
  await page.getByTestId('pause-button').click();
  await expect(page.getByTestId('train-status')).toContainText('saved in this browser.', { timeout: 300_000 });
  const saved = await stepOf(page);
  await page.getByTestId('resume-button').click();
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running');
  const worker = await engineWorker(page);
  await loseEngineDevice(worker, 0);

  // The notice says what happened and from where the run came back; at most the steps since the save are lost.
  const notice = page.getByTestId('engine-error');
  await expect(notice).toContainText(
    new RegExp(
      `The GPU device was lost \\(destroyed\\) at step \\d+; a new one was acquired and the run restored from its autosave at step ${saved}, and training goes on\\.`,
    ),
    { timeout: 120_000 },
  );
  expect(await engineDeviceCount(worker)).toBe(2);
  await expect(page.getByTestId('gpu-status')).not.toHaveText('device lost');
  // Training goes on on the new device, from the saved step on.
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'running', { timeout: 120_000 });
  await expect.poll(() => stepOf(page), { timeout: 300_000 }).toBeGreaterThan(saved);
  await page.getByTestId('stop-button').click();
  expect(errors, 'console errors during the run').toEqual([]);
});

test('a device lost while a model loads: it is loaded again on a new device, not reported as a failed load', async ({ page }) => {
  test.setTimeout(300_000);
  const errors = collectErrors(page);
  // Keep a handle on each device; once armed, the next load's first upload (its weights) loses the device first.
  await captureEngineDevices(page, {
    andThen: `self.addEventListener('message', (event) => {
       if (event.data?.type === 'loadDemo') self.__armed = true;
     });
     const writeBuffer = GPUQueue.prototype.writeBuffer;
     GPUQueue.prototype.writeBuffer = function (...args) {
       if (self.__armed) {
         self.__armed = false;
         self.__testDevices.at(-1).destroy();
       }
       return writeBuffer.apply(this, args);
     };`,
  });
  await page.goto('/');
  await expectAdapter(page);
  await expect(page.getByTestId('run-state')).toHaveAttribute('data-state', 'ready', { timeout: 60_000 });
  const worker = await engineWorker(page);
  // The demo model's weights upload in pieces as the file is read: the device is lost after the first.
  await page.getByTestId('explore-button').click();
  await expect(page.getByTestId('engine-error')).toContainText(
    'The GPU device was lost (destroyed) while the run was being built; a new one was acquired and the run built on it.',
    { timeout: 120_000 },
  );
  expect(await engineDeviceCount(worker)).toBe(2);
  await expect(page.getByTestId('gpu-status')).not.toHaveText('device lost');
  // The demo model, built on the new device, is explained (every kernel compiles again for the new device).
  await expect(page).toHaveURL(/tab=attention/, { timeout: 60_000 });
  await expect(page.getByTestId('patch-map')).toBeVisible({ timeout: 180_000 });
  expect(errors, 'console errors during the run').toEqual([]);
});
