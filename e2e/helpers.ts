import { execFileSync } from 'node:child_process';
import { type Locator, type Page, type TestInfo, type Worker, expect } from '@playwright/test';

/** Console errors and uncaught exceptions seen by the page while a test runs. */
export function collectErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error') errors.push(`console.error: ${msg.text()}`);
  });
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  return errors;
}

/** A full-page screenshot at the given viewport, saved under test-results and attached to the report. */
export async function snapshot(page: Page, testInfo: TestInfo, name: string, width: number, height: number): Promise<void> {
  await page.setViewportSize({ width, height });
  const path = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path, fullPage: true });
  await testInfo.attach(name, { path, contentType: 'image/png' });
}

/**
 * Runs `code` in the engine worker before its own module code (the worker owns the GPU device, so this is where a
 * test takes WebGPU away or keeps a handle on the device). The worker's script is served with `code` in front.
 */
export async function prependToEngineWorker(page: Page, code: string): Promise<void> {
  await page.route('**/assets/engine.worker-*.js', async (route) => {
    const response = await route.fetch();
    await route.fulfill({ response, body: `${code}\n${await response.text()}` });
  });
}

/** The engine worker once it runs, to evaluate code in (see prependToEngineWorker). */
export async function engineWorker(page: Page): Promise<Worker> {
  const existing = page.workers().find((w) => w.url().includes('engine.worker'));
  return existing ?? page.waitForEvent('worker', { predicate: (w) => w.url().includes('engine.worker') });
}

type WithDevices = { __testDevices: GPUDevice[] };

/**
 * Keeps a handle on each device the engine worker creates, in creation order, so that a test can lose one as a driver
 * reset would (loseEngineDevice) and count them (engineDeviceCount). Call before the page loads. With `replaceable`
 * false, no device comes after the first (a request for another never answers), as when a lost GPU stays lost;
 * `andThen` is more code to run in the worker after this (it may use self.__testDevices).
 */
export async function captureEngineDevices(page: Page, { replaceable = true, andThen = '' } = {}): Promise<void> {
  await prependToEngineWorker(
    page,
    `const requestDevice = GPUAdapter.prototype.requestDevice;
     GPUAdapter.prototype.requestDevice = async function (descriptor) {
       if (${!replaceable} && self.__testDevices?.length) return new Promise(() => {});
       const device = await requestDevice.call(this, descriptor);
       self.__testDevices = [...(self.__testDevices ?? []), device];
       return device;
     };
     ${andThen}`,
  );
}

/** How many devices the engine worker has created (captureEngineDevices). */
export const engineDeviceCount = (worker: Worker): Promise<number> => worker.evaluate(() => (self as unknown as WithDevices).__testDevices.length);

/** Destroys the engine worker's `index`th device (captureEngineDevices), as a lost device is lost. */
export const loseEngineDevice = (worker: Worker, index: number): Promise<void> =>
  worker.evaluate((i) => (self as unknown as WithDevices).__testDevices[i]!.destroy(), index);

/** The training step the Train panel's progress bar shows. */
export const stepOf = async (page: Page): Promise<number> => Number(await page.getByTestId('train-progress').getAttribute('data-step'));

/** Waits until the app has either found an adapter or said why not; fails with the page's sentence if not. */
export async function expectAdapter(page: Page): Promise<void> {
  const name = page.getByTestId('adapter-name');
  const error = page.getByTestId('webgpu-error');
  await expect(name.or(error)).toBeVisible();
  if (await error.isVisible()) {
    throw new Error(
      `No WebGPU adapter in Chromium: "${await error.innerText()}". ` +
        'Is Chromium started with --enable-unsafe-webgpu, and is its SwiftShader (or a GPU driver) present?',
    );
  }
}

/** How many points a chart (LineChart) has drawn. */
export const pointsOf = async (chart: Locator): Promise<number> => Number(await chart.getAttribute('data-points'));

/** Fails with the page's own sentence when the engine reports an error, instead of waiting out a timeout. */
export async function expectNoEngineError(page: Page): Promise<void> {
  const error = page.getByTestId('engine-error');
  if (await error.count()) throw new Error(`The engine reported: ${await error.first().innerText()}`);
}

/** Waits until the loss chart holds `count` points, failing at once if the engine reports an error meanwhile. */
export async function expectLossPoints(page: Page, count: number): Promise<void> {
  await expect
    .poll(
      async () => {
        await expectNoEngineError(page);
        return pointsOf(page.getByTestId('chart-loss'));
      },
      { timeout: 120_000 },
    )
    .toBeGreaterThanOrEqual(count);
}

/**
 * A tiny COSMOS checkpoint with the full CLIP vocabulary in the released layout, written by our own writer
 * (random weights) into the test's output folder; returns its path.
 */
export function makeAppCheckpoint(testInfo: TestInfo): string {
  const path = testInfo.outputPath('app-tiny.pt');
  execFileSync('node', ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'scripts/make-app-checkpoint.ts', path], { stdio: 'pipe' });
  return path;
}

/**
 * A plain CLIP model as a Hugging Face CLIPModel folder (config.json + model.safetensors): the CLIP part of a tiny
 * COSMOS checkpoint (makeAppCheckpoint), exported by the CLI. Returns the folder's two files.
 */
export function makePlainClipFolder(testInfo: TestInfo): string[] {
  const folder = testInfo.outputPath('plain-clip');
  const cli = ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'src/cli/main.ts'];
  execFileSync('node', [...cli, 'export', '--checkpoint', makeAppCheckpoint(testInfo), '--format', 'huggingface', '--out', folder], { stdio: 'pipe' });
  return [`${folder}/config.json`, `${folder}/model.safetensors`];
}
