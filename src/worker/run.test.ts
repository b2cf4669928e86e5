import { describe, expect, it } from 'vitest';
import type { StepRecord } from '../cosmos/training.ts';
import type { HeldOutRecord } from '../eval/heldOut.ts';
import type { MemoryStats } from '../gpu/runtime.ts';
import type { WorkerEvent } from './protocol.ts';
import { GpuQueue, type SteppableRun, TrainingLoop } from './run.ts';

const MEMORY: MemoryStats = { totalBytes: 1, liveBytes: 1, liveBuffers: 1, freeBuffers: 0, pipelines: 0, uniformBuffers: 0 };
const RECALL: HeldOutRecord = { i2t_r1: 0.5, i2t_r5: 1, t2i_r1: 0.5, t2i_r5: 1, pointing_cross_attention: 0.75, pointing_dense: 0.5 };

/** A run whose steps take a few milliseconds and record what ran, in order, with the GPU work of others. */
class FakeRun implements SteppableRun {
  step = 0;
  skippedInARow = 0;
  readonly log: string[];
  failAt = -1;
  /** Steps from..to (1-based) are skipped, as a poisoned batch's would be. */
  skip = { from: Infinity, to: Infinity };
  constructor(
    readonly options: { steps: number },
    log: string[],
  ) {
    this.log = log;
  }
  async trainStep(): Promise<StepRecord> {
    this.log.push(`step ${this.step + 1} begins`);
    await new Promise((r) => setTimeout(r, 5));
    if (this.step + 1 === this.failAt) throw new Error('the GPU ran out of memory');
    this.step++;
    this.log.push(`step ${this.step} ends`);
    const skipped = this.step >= this.skip.from && this.step <= this.skip.to ? 'the loss is NaN or infinite' : null;
    this.skippedInARow = skipped ? this.skippedInARow + 1 : 0;
    return {
      skipped,
      step: this.step,
      total: 5 - this.step * 0.1,
      clip: 3,
      cosmos: 2,
      lr: 1e-3,
      temperature: 14,
      distillTemperature: 14,
      samplesPerSecond: 1,
      stepMs: 5,
    };
  }
}

function setup(steps: number, cadence = { evalEvery: 3, evalCount: 8, saveEvery: 4 }) {
  const log: string[] = [];
  const events: WorkerEvent[] = [];
  const errors: string[] = [];
  const run = new FakeRun({ steps }, log);
  const gpu = new GpuQueue();
  const loop = new TrainingLoop(run, gpu, cadence, {
    post: (e) => events.push(e),
    memory: () => MEMORY,
    evaluate: async (count: number): Promise<HeldOutRecord> => {
      log.push(`eval ${count} at ${run.step}`);
      return RECALL;
    },
    save: async () => void log.push(`save at ${run.step}`),
    failed: (e) => errors.push((e as Error).message),
    saveFailed: (e) => errors.push(`save: ${(e as Error).message}`),
  });
  const states = () => events.filter((e) => e.type === 'state').map((e) => (e as { state: string }).state);
  const steps_ = () => events.filter((e) => e.type === 'step').map((e) => (e as { record: StepRecord }).record.step);
  const until = async (done: () => boolean) => {
    for (let i = 0; i < 1000 && !done(); i++) await new Promise((r) => setTimeout(r, 2));
    expect(done()).toBe(true);
  };
  return { run, gpu, loop, log, events, errors, states, steps: steps_, until };
}

describe('the training loop', () => {
  it('runs every step, evaluates and saves on its cadence and at the end, then stops', async () => {
    const t = setup(7);
    t.loop.play();
    await t.until(() => t.loop.state === 'stopped');
    await t.loop.idle();
    expect(t.steps()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(t.log.filter((l) => !l.startsWith('step'))).toEqual(['eval 8 at 3', 'save at 4', 'eval 8 at 6', 'eval 8 at 7', 'save at 7']);
    expect(t.states()).toEqual(['running', 'stopped']);
    expect(t.events.filter((e) => e.type === 'eval').map((e) => (e as { step: number }).step)).toEqual([3, 6, 7]);
    expect(t.events.filter((e) => e.type === 'saved').map((e) => (e as { step: number }).step)).toEqual([4, 7]);
    expect(t.errors).toEqual([]);
    expect(() => t.loop.play()).toThrow(/ended/);
  });

  it('stops after 5 skipped steps in a row with a message, saving nothing after the last good step', async () => {
    const t = setup(100);
    t.run.skip = { from: 3, to: 100 };
    t.loop.play();
    await t.until(() => t.loop.state === 'stopped');
    await t.loop.idle();
    expect(t.steps()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Step 4's autosave falls on a skipped step, and the stop writes nothing: the last good save stays.
    expect(t.log.filter((l) => l.startsWith('save'))).toEqual([]);
    expect(t.states()).toEqual(['running', 'stopped']);
    const errors = t.events.filter((e) => e.type === 'error').map((e) => (e as { message: string }).message);
    expect(errors).toEqual([
      'Training stopped: 5 steps in a row (to step 7) were skipped because the loss is NaN or infinite; the last save in this browser is kept, and a lower learning rate or other data may train.',
    ]);
  });

  it('goes on after fewer than 5 skipped steps in a row, and saves once a step trains', async () => {
    const t = setup(10);
    t.run.skip = { from: 2, to: 5 };
    t.loop.play();
    await t.until(() => t.loop.state === 'stopped');
    await t.loop.idle();
    expect(t.steps()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(t.log.filter((l) => l.startsWith('save'))).toEqual(['save at 8', 'save at 10']);
    expect(t.events.filter((e) => e.type === 'error')).toEqual([]);
  });

  it('pauses after the step in flight, saves, and resumes where it stopped', async () => {
    const t = setup(100);
    t.loop.play();
    await t.until(() => t.run.step >= 2);
    t.loop.pause();
    expect(t.loop.state).toBe('paused');
    await t.loop.idle();
    const pausedAt = t.run.step;
    expect(t.log.at(-1)).toBe(`save at ${pausedAt}`);
    await new Promise((r) => setTimeout(r, 30));
    expect(t.run.step).toBe(pausedAt); // nothing steps while paused
    t.loop.play();
    await t.until(() => t.run.step >= pausedAt + 2);
    t.loop.stop();
    await t.loop.idle();
    expect(t.states()).toEqual(['running', 'paused', 'running', 'stopped']);
    expect(t.steps()).toEqual(Array.from({ length: t.run.step }, (_, i) => i + 1));
  });

  it('goes on when resumed within the step in flight (one loop, no step twice)', async () => {
    const t = setup(100);
    t.loop.play();
    await t.until(() => t.run.step >= 1);
    t.loop.pause();
    t.loop.play();
    await t.until(() => t.run.step >= 4);
    t.loop.stop();
    await t.loop.idle();
    // Steps never overlap: each begins after the previous one ended.
    const order = t.log.filter((l) => l.startsWith('step'));
    for (let i = 0; i + 1 < order.length; i += 2) expect(order[i + 1]!.replace('ends', 'begins')).toBe(order[i]);
  });

  it('lets other GPU work in between steps, never during one', async () => {
    const t = setup(100);
    t.loop.play();
    await t.until(() => t.run.step >= 1);
    await t.gpu.run(async () => void t.log.push('analysis'));
    t.loop.stop();
    await t.loop.idle();
    const at = t.log.indexOf('analysis');
    expect(t.log[at - 1]).toMatch(/ends$/);
  });

  it('pauses itself and says why when a step fails', async () => {
    const t = setup(100);
    t.run.failAt = 3;
    t.loop.play();
    await t.until(() => t.errors.length > 0);
    await t.loop.idle();
    expect(t.errors).toEqual(['the GPU ran out of memory']);
    expect(t.loop.state).toBe('paused');
    expect(t.run.step).toBe(2);
  });
});
