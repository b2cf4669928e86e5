/**
 * The page's side of the engine worker: typed commands out, events in. Requests (analysis, checkpoints) carry an
 * id and come back as promises; the rest (ready, state, step, eval, errors without an id) go to listeners.
 */
import type { ModelSource } from '../cosmos/modelSource.ts';
import type { PathedBlob } from '../data/userData-browser.ts';
import type { EvalProgress } from '../eval/benchmark/progress.ts';
import type { EvaluateRequest, EvaluationResult, WrittenShards } from './evaluateProtocol.ts';
import type {
  AnalysisRequest,
  AnalysisResult,
  Command,
  DataSetInfo,
  DemoManifest,
  DemoName,
  SavedCheckpoint,
  SelfTestResult,
  Weights,
  WorkerEvent,
} from './protocol.ts';

/** What the client needs of a Worker; a fake in tests. */
export interface WorkerPort {
  postMessage(message: Command): void;
  onmessage: ((event: MessageEvent<WorkerEvent>) => void) | null;
  onerror: ((event: ErrorEvent) => void) | null;
  terminate(): void;
}

/** Commands that are not requests: no id, no answer beyond the events they cause. */
export type ControlCommand = Extract<Command, { type: 'init' | 'start' | 'pause' | 'resume' | 'stop' | 'cancelEvaluation' }>;
/** Events that answer no request. */
export type EngineEvent =
  | Extract<WorkerEvent, { type: 'device' | 'deviceLost' | 'ready' | 'state' | 'step' | 'eval' | 'saved' }>
  | { type: 'error'; message: string };

export interface Progress {
  what: string;
  done: number;
  total: number;
  /** An evaluation's rate, fraction and time left. */
  detail?: EvalProgress;
}

type RequestCommand = Exclude<Command, ControlCommand>;
/** A request command as callers write it: the client adds the id. */
type Unnumbered<C> = C extends { requestId: number } ? Omit<C, 'requestId'> : never;

interface Pending {
  resolve(event: WorkerEvent): void;
  reject(error: Error): void;
  onProgress?: (progress: Progress) => void;
}

export class EngineClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<(event: EngineEvent) => void>();

  constructor(private readonly worker: WorkerPort) {
    worker.onmessage = (event) => this.receive(event.data);
    worker.onerror = (event) => this.crashed(event.message || 'the engine worker failed to start');
  }

  /** The engine in its own module worker (Vite bundles it). */
  static start(): EngineClient {
    return new EngineClient(new Worker(new URL('./engine.worker.ts', import.meta.url), { type: 'module', name: 'cosmos-engine' }));
  }

  /** Events that answer no request; returns the unsubscribe function. */
  on(listener: (event: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  send(command: ControlCommand): void {
    this.worker.postMessage(command);
  }

  async analysis(request: AnalysisRequest): Promise<AnalysisResult> {
    const event = await this.request({ type: 'analysis', request });
    return (event as Extract<WorkerEvent, { type: 'analysis' }>).result;
  }

  /**
   * Loads a model to fine-tune or explain: one checkpoint file, or a folder's files (OpenCLIP hub, Hugging Face);
   * progress as the weights upload.
   */
  async loadCheckpoint(files: File[], weights: Weights, onProgress?: (p: Progress) => void): Promise<void> {
    await this.request({ type: 'loadCheckpoint', files, weights }, onProgress);
  }

  /** Trains on the user's files (a folder's, or one zip) or, with null, the built-in scenes; progress as images decode. */
  async setData(files: PathedBlob[] | null, onProgress?: (p: Progress) => void): Promise<DataSetInfo> {
    const event = await this.request({ type: 'setData', files }, onProgress);
    return (event as Extract<WorkerEvent, { type: 'data' }>).data;
  }

  /** Saves the run in this browser as a named checkpoint. */
  async saveCheckpoint(): Promise<void> {
    await this.request({ type: 'saveCheckpoint' });
  }

  async listCheckpoints(): Promise<SavedCheckpoint[]> {
    const event = await this.request({ type: 'listCheckpoints' });
    return (event as Extract<WorkerEvent, { type: 'checkpoints' }>).saved;
  }

  /** A checkpoint saved in this browser, as a file (read from disk as it is used): to download or to load. */
  async openSaved(name: string): Promise<File> {
    const { blob } = (await this.request({ type: 'openSaved', name })) as Extract<WorkerEvent, { type: 'download' }>;
    return blob instanceof File ? blob : new File([blob], name);
  }

  async deleteSaved(name: string): Promise<void> {
    await this.request({ type: 'deleteSaved', name });
  }

  /** The run as a released-layout .pt. */
  async exportCheckpoint(): Promise<{ blob: Blob; name: string }> {
    const { blob, name } = (await this.request({ type: 'exportCheckpoint' })) as Extract<WorkerEvent, { type: 'download' }>;
    return { blob, name };
  }

  /** Loads a trained demo model as the model (to explain, then fine-tune); progress as its weights upload. */
  async loadDemo(which: DemoName, onProgress?: (p: Progress) => void): Promise<void> {
    await this.request({ type: 'loadDemo', which }, onProgress);
  }

  /** What the demo models are: how they were trained, how they evaluate, and the scenes they know. */
  async demos(): Promise<DemoManifest> {
    const event = await this.request({ type: 'demos' });
    return (event as Extract<WorkerEvent, { type: 'demos' }>).manifest;
  }

  /** Evaluates a data set with the chosen models side by side; progress with the rate and the time left. */
  async evaluate(request: EvaluateRequest, onProgress?: (p: Progress) => void): Promise<EvaluationResult> {
    const event = await this.request({ type: 'evaluate', request }, onProgress);
    return (event as Extract<WorkerEvent, { type: 'evaluated' }>).result;
  }

  /** Stops the evaluation under way after its current batch (its request then fails, saying so). */
  cancelEvaluation(): void {
    this.send({ type: 'cancelEvaluation' });
  }

  /** Loads a model to evaluate beside the run's: a checkpoint file, or a folder's files. */
  async loadSecondModel(files: File[]): Promise<ModelSource> {
    const event = await this.request({ type: 'loadSecondModel', files });
    return (event as Extract<WorkerEvent, { type: 'secondModel' }>).source;
  }

  /** The run's data set (the user's images) as webdataset shards, to save. */
  async writeShards(perShard: number): Promise<WrittenShards> {
    const event = await this.request({ type: 'writeShards', perShard });
    return (event as Extract<WorkerEvent, { type: 'shards' }>).written;
  }

  /** The GPU self-test, run on the engine's device. */
  async selfTest(): Promise<SelfTestResult> {
    const event = await this.request({ type: 'selfTest' });
    return (event as Extract<WorkerEvent, { type: 'selfTest' }>).result;
  }

  /** Ends the worker; open requests fail, listeners hear nothing more. */
  terminate(): void {
    this.listeners.clear();
    this.worker.terminate();
    this.failPending(new Error('The engine was shut down.'));
  }

  private request(command: Unnumbered<RequestCommand>, onProgress?: (p: Progress) => void): Promise<WorkerEvent> {
    const requestId = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(requestId, { resolve, reject, ...(onProgress ? { onProgress } : {}) });
      this.worker.postMessage({ ...command, requestId } as RequestCommand);
    });
  }

  private receive(event: WorkerEvent): void {
    if (!('requestId' in event) || event.requestId === undefined) {
      this.emit(event as EngineEvent);
      return;
    }
    const pending = this.pending.get(event.requestId);
    if (!pending) return; // answered after the client gave up on it (shut down)
    if (event.type === 'progress') {
      pending.onProgress?.({ what: event.what, done: event.done, total: event.total, ...(event.detail ? { detail: event.detail } : {}) });
      return;
    }
    this.pending.delete(event.requestId);
    if (event.type === 'error') pending.reject(new Error(event.message));
    else pending.resolve(event);
  }

  private emit(event: EngineEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  /** The worker is gone: every open request fails, and listeners hear why. */
  private crashed(reason: string): void {
    const error = new Error(`The engine stopped: ${reason}. Reload the page; runs saved in this browser are kept.`);
    this.failPending(error);
    this.emit({ type: 'error', message: error.message });
  }

  private failPending(error: Error): void {
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}
