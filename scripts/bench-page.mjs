// Runs one of the benchmark pages (bench/browser/, built with bench/vite.config.ts) in headless Chromium with WebGPU:
// builds the pages, serves them with `vite preview` on 127.0.0.1, opens `page` (a path with its query) in the system
// Chromium through Playwright, forwards its console, and returns what it leaves in window[resultName]. A page that
// fails says so in window.benchError, which is thrown here.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from '@playwright/test';
import { build, preview } from 'vite';
import { CHROMIUM, CHROMIUM_ARGS } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const configFile = join(root, 'bench', 'vite.config.ts');

export async function runBenchPage({ page: path, resultName, timeoutMs, log = console.log }) {
  const started = performance.now();
  await build({ configFile, logLevel: 'warn' });
  log(`bench page: built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  const server = await preview({ configFile, preview: { host: '127.0.0.1', port: 0, open: false }, logLevel: 'warn' });
  const url = server.resolvedUrls?.local[0];
  if (!url) throw new Error('vite preview did not report a URL');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage();
    page.on('console', (msg) => log(`  [page] ${msg.text()}`));
    page.on('pageerror', (error) => console.error(`  [page error] ${error.message}`));
    await page.goto(new URL(path, url).href);
    await page.waitForFunction((name) => window[name] || window.benchError, resultName, { timeout: timeoutMs, polling: 500 });
    const error = await page.evaluate(() => window.benchError);
    if (error) throw new Error(`the benchmark page failed: ${error}`);
    return await page.evaluate((name) => window[name], resultName);
  } finally {
    await browser.close();
    await server.close();
  }
}
