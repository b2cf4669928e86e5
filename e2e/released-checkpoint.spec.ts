/**
 * A checkpoint shaped exactly like the released ViT-B/32 COSMOS one (student, teacher and AdamW state, random
 * weights, ~2.4 GB, written at test time by our own writer) goes through the Checkpoints panel's file input; the
 * attention panel then embeds a held-out scene and its caption with it. The JS heaps of the page and of the engine's
 * worker are sampled throughout and must stay far below the file's size: the file is streamed, never held.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CDPSession, type Page, expect, test } from '@playwright/test';
import { collectErrors, expectAdapter } from './helpers.ts';

const MiB = 2 ** 20;
/** Far below the ~2350 MiB file: the JS heap holds the app's objects, never the weights. */
const HEAP_LIMIT = 400 * MiB;
/**
 * With ArrayBuffers counted, a quarter of the file: a few tensors in flight (token_embedding alone is 97 MiB: its
 * host init, its bytes read from the file) plus what the garbage collector has not yet reclaimed.
 */
const WITH_BUFFERS_LIMIT = (fileSize: number) => fileSize / 4;

let dir = '';
let checkpoint = '';

test.beforeAll(() => {
  test.setTimeout(120_000);
  dir = mkdtempSync(join(tmpdir(), 'cosmos-released-'));
  checkpoint = join(dir, 'vit-b-32-released-shapes.pt');
  execFileSync('node', ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'scripts/make-released-shape-checkpoint.ts', checkpoint], { stdio: 'pipe' });
});

test.afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface HeapUsage {
  usedSize: number;
  backingStorageSize: number;
}
const NO_USAGE: HeapUsage = { usedSize: 0, backingStorageSize: 0 };

/**
 * The used JS heap of the page and of its dedicated workers, through the DevTools protocol (workers have no
 * performance.memory): the page's own session, and the browser's session attached to each worker target.
 */
class HeapSampler {
  /** Peaks of the JS heap alone, and of the heap with ArrayBuffer backing stores (where tensors' bytes live). */
  readonly peaks = { page: 0, worker: 0, pageWithBuffers: 0, workerWithBuffers: 0 };
  samples = 0;
  private running = true;
  private readonly loop: Promise<void>;
  private nextId = 1;
  private readonly pending = new Map<number, (usage: HeapUsage) => void>();

  constructor(private readonly page: Page) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const pageCdp = await this.page.context().newCDPSession(this.page);
    const browserCdp = await this.page.context().browser()!.newBrowserCDPSession();
    browserCdp.on('Target.receivedMessageFromTarget', ({ message }) => {
      const reply = JSON.parse(message) as { id?: number; result?: HeapUsage };
      if (reply.id !== undefined) this.pending.get(reply.id)?.(reply.result ?? NO_USAGE);
    });
    const { targetInfos } = await browserCdp.send('Target.getTargets');
    const workers = targetInfos.filter((t) => t.type === 'worker');
    const sessions = await Promise.all(workers.map((t) => browserCdp.send('Target.attachToTarget', { targetId: t.targetId, flatten: false })));
    while (this.running) {
      const usage = await pageCdp.send('Runtime.getHeapUsage');
      this.record('page', usage);
      for (const { sessionId } of sessions) this.record('worker', await this.workerHeap(browserCdp, sessionId));
      this.samples++;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    await pageCdp.detach();
    await browserCdp.detach();
  }

  private record(where: 'page' | 'worker', usage: HeapUsage): void {
    const p = this.peaks;
    p[where] = Math.max(p[where], usage.usedSize);
    const withBuffers = where === 'page' ? 'pageWithBuffers' : 'workerWithBuffers';
    p[withBuffers] = Math.max(p[withBuffers], usage.usedSize + usage.backingStorageSize);
  }

  private workerHeap(cdp: CDPSession, sessionId: string): Promise<HeapUsage> {
    const id = this.nextId++;
    const reply = new Promise<HeapUsage>((resolve) => this.pending.set(id, resolve));
    void cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }) });
    const late = new Promise<HeapUsage>((resolve) => setTimeout(() => resolve(NO_USAGE), 10_000));
    return Promise.race([reply, late]).finally(() => this.pending.delete(id));
  }

  async stop(): Promise<HeapSampler['peaks']> {
    this.running = false;
    await this.loop;
    return this.peaks;
  }
}

test('loads a released-size ViT-B/32 checkpoint and explains a scene with it, heap far below the file size', async ({ page }) => {
  test.setTimeout(300_000);
  const fileSize = statSync(checkpoint).size;
  expect(fileSize).toBeGreaterThan(2.3e9);

  const errors = collectErrors(page);
  await page.goto('/?tab=checkpoints');
  await expectAdapter(page);
  await expect.poll(() => page.workers().length, { message: 'the engine worker starts' }).toBeGreaterThan(0);

  const sampler = new HeapSampler(page);
  const loadStart = Date.now();
  await page.getByTestId('checkpoint-file').setInputFiles(checkpoint);
  await expect(page.getByTestId('checkpoint-loaded')).toContainText('vit-b-32-released-shapes.pt', { timeout: 200_000 });
  const loadSeconds = (Date.now() - loadStart) / 1000;
  await expect(page.getByTestId('checkpoint-loaded')).toContainText('154,039,042 parameters, 224 px images');

  // A held-out scene and its caption, embedded by the loaded model: the patch map over B/32's 7x7 grid, the tokens.
  const embedStart = Date.now();
  await page.getByTestId('tab-attention').click();
  await page.getByTestId('attention-scene').selectOption('3');
  const patchMap = page.getByTestId('patch-map');
  await expect(patchMap).toHaveAttribute('data-max', '1', { timeout: 120_000 });
  await expect(page.getByTestId('attention-figure')).toContainText('7×7 patches');
  await expect(page.getByTestId('token-map')).toContainText('crab');
  const embedSeconds = (Date.now() - embedStart) / 1000;
  expect(Number(await patchMap.getAttribute('data-std'))).toBeGreaterThan(0);

  const peaks = await sampler.stop();
  const mib = (bytes: number) => `${(bytes / MiB).toFixed(1)} MiB`;
  console.log(
    `released-shape ViT-B/32: file ${mib(fileSize)}, load ${loadSeconds.toFixed(1)} s, embed ${embedSeconds.toFixed(1)} s, ${sampler.samples} heap samples; ` +
      `peak JS heap (with ArrayBuffers): page ${mib(peaks.page)} (${mib(peaks.pageWithBuffers)}), worker ${mib(peaks.worker)} (${mib(peaks.workerWithBuffers)})`,
  );
  expect(sampler.samples, 'heap samples taken during the load and the embedding').toBeGreaterThan(20);
  expect(peaks.worker, 'the worker was sampled').toBeGreaterThan(0);
  expect(peaks.page).toBeLessThan(HEAP_LIMIT);
  expect(peaks.worker).toBeLessThan(HEAP_LIMIT);
  expect(peaks.pageWithBuffers).toBeLessThan(WITH_BUFFERS_LIMIT(fileSize));
  expect(peaks.workerWithBuffers).toBeLessThan(WITH_BUFFERS_LIMIT(fileSize));
  expect(errors, 'console errors during the run').toEqual([]);
});
