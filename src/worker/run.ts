/**
 * Training loop control inside the worker: start, pause, resume and stop a TrainingRun, one step at a time, with
 * the held-out evaluation and the autosave on their cadences. Between steps the loop yields to the event loop, so
 * a command that arrives mid-step is handled as soon as the step ends.
 */
import type { MemoryStats } from '../gpu/runtime.ts';
import { MAX_SKIPPED_IN_A_ROW, type StepRecord, skippedStopMessage } from '../cosmos/training.ts';
import type { HeldOutRecord } from '../eval/heldOut.ts';
import type { RunState, WorkerEvent } from './protocol.ts';

/**
 * Runs GPU work one piece at a time, in the order asked. The engine has one tape and one set of models: a training
 * step, an evaluation, a checkpoint read-back and an analysis must never interleave at their awaits.
 */
export class GpuQueue {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(work: () => Promise<T>): Promise<T> {
    const result = this.tail.then(work);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

/** What the loop needs of a TrainingRun. */
export interface SteppableRun {
  readonly step: number;
  readonly skippedInARow: number;
  readonly options: { readonly steps: number };
  trainStep(): Promise<StepRecord>;
}

export interface LoopHooks {
  post(event: WorkerEvent): void;
  memory(): MemoryStats;
  /** The held-out evaluation of `count` pairs; called inside the GPU queue. */
  evaluate(count: number): Promise<HeldOutRecord>;
  /** Writes the run to browser storage; called inside the GPU queue. */
  save(): Promise<void>;
  /** A step or an evaluation failed: the loop has paused itself. */
  failed(error: unknown): void;
  /** Saving failed: training goes on, the previous save stays. */
  saveFailed(error: unknown): void;
}

export interface LoopCadence {
  /** Held-out retrieval every this many steps (and after the last). */
  evalEvery: number;
  /** Held-out scenes in each evaluation. */
  evalCount: number;
  /** Autosave every this many steps (and on pause, stop and the end). */
  saveEvery: number;
}

/** The next task: queued messages (pause, stop, analysis requests) run before the loop goes on. */
const nextTask = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

export class TrainingLoop {
  private current: RunState;
  /** Set while the loop is stepping; resolves when it has stopped (and saved). */
  private active: Promise<void> | null = null;

  constructor(
    private readonly run: SteppableRun,
    private readonly gpu: GpuQueue,
    private readonly cadence: LoopCadence,
    private readonly hooks: LoopHooks,
    initial: 'ready' | 'paused' = 'ready',
  ) {
    this.current = initial;
  }

  get state(): RunState {
    return this.current;
  }

  /** Starts (from ready) or resumes (from paused) stepping. */
  play(): void {
    if (this.current === 'running') return;
    if (this.current === 'stopped') throw new Error('This run has ended. Press Train to start a new one.');
    if (this.run.step >= this.run.options.steps) throw new Error('This run has done all its steps. Press Train to start a new one.');
    this.setState('running');
    this.ensureLoop();
  }

  pause(): void {
    if (this.current === 'running') this.setState('paused');
  }

  stop(): void {
    if (this.current === 'running' || this.current === 'paused') this.setState('stopped');
  }

  /** Marks the run paused after a failure outside the loop (a lost device). */
  halt(): void {
    if (this.current === 'running') this.setState('paused');
  }

  /** Resolves once no step is in flight and the save that follows a pause or stop is written. */
  async idle(): Promise<void> {
    await this.active;
  }

  /** A pause and a resume within one step: the loop still running simply goes on. */
  private ensureLoop(): void {
    this.active ??= this.loop().finally(() => {
      this.active = null;
      // Resumed while the loop was closing (saving after a pause): step on.
      if (this.current === 'running') this.ensureLoop();
    });
  }

  private setState(state: RunState): void {
    this.current = state;
    this.hooks.post({ type: 'state', state });
  }

  private async loop(): Promise<void> {
    const { evalEvery, evalCount, saveEvery } = this.cadence;
    const total = this.run.options.steps;
    let lastEval = -1;
    let lastSave = this.run.step;
    try {
      while (this.current === 'running' && this.run.step < total) {
        const record = await this.gpu.run(() => this.run.trainStep());
        this.hooks.post({ type: 'step', record, memory: this.hooks.memory() });
        if (this.run.skippedInARow >= MAX_SKIPPED_IN_A_ROW) {
          // Nothing is saved: the last save holds the last good weights.
          this.setState('stopped');
          this.hooks.post({ type: 'error', message: skippedStopMessage(record, 'the last save in this browser is kept') });
          return;
        }
        if (record.step % evalEvery === 0 || record.step === total) {
          await this.evaluate(record.step, evalCount);
          lastEval = record.step;
        }
        // A skipped step changed nothing: its autosave waits for a step that trained.
        if (record.step % saveEvery === 0 && !record.skipped) {
          await this.save();
          lastSave = record.step;
        }
        await nextTask();
      }
      if (this.run.step >= total && this.current === 'running') {
        if (lastEval !== this.run.step) await this.evaluate(this.run.step, evalCount);
        this.setState('stopped');
      }
    } catch (error) {
      if (this.current === 'running') this.setState('paused');
      this.hooks.failed(error);
      return;
    }
    if (lastSave !== this.run.step) await this.save();
  }

  private async evaluate(step: number, count: number): Promise<void> {
    const record = await this.gpu.run(() => this.hooks.evaluate(count));
    this.hooks.post({ type: 'eval', step, record });
  }

  private async save(): Promise<void> {
    try {
      await this.gpu.run(() => this.hooks.save());
      this.hooks.post({ type: 'saved', step: this.run.step });
    } catch (error) {
      this.hooks.saveFailed(error);
    }
  }
}
