import { useAnalysisState } from './panels/analysisState.ts';
import { bestPointingMap } from './panels/pointingMap.ts';
import { errorMessage } from '../format.ts';
import { create } from 'zustand';
import type { CosmosConfig } from '../cosmos/config.ts';
import type { PresetName } from '../cosmos/presets.ts';
import { type TrainingOptions, trainingOptions } from '../cosmos/trainingOptions.ts';
import { type EngineEvent, EngineClient } from '../worker/client.ts';
import { BUILT_IN_SCENES } from '../data/dataset.ts';
import { type PathedBlob, nameOfFiles } from '../data/userData-browser.ts';
import { type EvalPoint, type StepPoint, appendThinned } from '../worker/runLog.ts';
import {
  AUTOSAVE_CHECKPOINT,
  type AdapterSummary,
  type KernelChoice,
  type DataSetInfo,
  type DemoManifest,
  type DemoName,
  type LoadedModelSource,
  type RunState,
  type SavedCheckpoint,
  type SelfTestResult,
} from '../worker/protocol.ts';
import { type Tab, type TrainSettings, DEFAULT_SETTINGS, parseUrl, writeUrl } from './url.ts';

export type GpuPhase = 'idle' | 'acquiring' | 'ready' | 'unavailable' | 'failed';

export type SelfTestState =
  | { status: 'idle' }
  | { status: 'running' }
  | { status: 'passed' | 'failed'; result: SelfTestResult }
  | { status: 'error'; message: string };

/** The worker's run as it last said: its architecture and settings. */
export interface RunInfo {
  config: CosmosConfig;
  parameters: number;
  /** Of those, the ones training updates (fewer with frozen towers). */
  trainable: number;
  /** null for a model loaded from a checkpoint. */
  preset: PresetName | null;
  /** What a loaded checkpoint was; null for a preset or a restored run. */
  source: LoadedModelSource | null;
  options: TrainingOptions;
}

/** A data set being read: images decoded so far, or why the files could not be used. */
export type DataLoad = { status: 'idle' } | { status: 'loading'; name: string; done: number; total: number } | { status: 'failed'; message: string };

export interface AppState {
  // ---- The engine worker's GPU device, as it reports it (the page holds no GPU object) ----
  phase: GpuPhase;
  adapter: AdapterSummary | null;
  /** The kernel shape the engine runs on it. */
  kernels: KernelChoice | null;
  /** Why there is no device: a sentence for the user. */
  error: string | null;
  /** Set once if the device is lost after it was acquired. */
  lost: string | null;
  selfTest: SelfTestState;
  /** Runs the self-test on the worker's device (it runs by itself once the device is there). */
  runSelfTest(): Promise<void>;

  // ---- The engine worker and its training run ----
  engine: EngineClient | null;
  run: RunInfo | null;
  runState: RunState;
  /** Steps the run has done. */
  step: number;
  history: StepPoint[];
  evals: EvalPoint[];
  /** When the run last started running (ms, performance clock): the first step of a session compiles kernels. */
  playedAt: number | null;
  /** When the last step event came (ms, performance clock). */
  lastStepAt: number | null;
  /** The step at which the worker last saved the run in this browser. */
  savedStep: number | null;
  /** Set between Train and the worker's answer: the model is being built. */
  building: boolean;
  /** Sentences from the engine that answer no request (a failed step, a lost device). */
  engineErrors: string[];
  /** The run the worker saved in this browser, if any: offered for resuming. */
  savedRun: SavedCheckpoint | null;
  settings: TrainSettings;
  tab: Tab;
  /** What the worker trains on: the built-in scenes or the user's images, with what was skipped. */
  dataSet: DataSetInfo;
  dataLoad: DataLoad;
  /** A run restored after a reload: the data set it trained on before (null for a new run). */
  trainedOn: string | null;
  /** Trains on the user's files from now on: a folder's (paths relative to it) or one zip; a drop's once listed. */
  trainOnFiles(files: PathedBlob[] | Promise<PathedBlob[]>): Promise<void>;
  trainOnBuiltIn(): Promise<void>;
  /** Starts the worker once and builds the model of the current settings. */
  startEngine(): void;
  setSettings(patch: Partial<TrainSettings>): void;
  setTab(tab: Tab): void;
  /** Starts training the current settings: the ready model if it matches them, else a new one. */
  train(): void;
  pause(): void;
  resume(): void;
  stop(): void;
  /** Restores the run saved in this browser (paused, at its step). */
  resumeSaved(): void;
  /** The trained demo models that ship with the app, once the worker has read their manifest (null without). */
  demos: DemoManifest | null;
  demoLoad: DataLoad;
  /** The demo model the run was loaded from (fine-tuning keeps it); null for a model built here. */
  demoModel: DemoName | null;
  /** Loads the COSMOS demo model as the model and opens Attention on a held-out scene it explains well. */
  explore(): Promise<void>;
  dismissEngineError(index: number): void;
}

/** The worker's options for the settings: the tiny recipe's other values, its warmup rule. */
function optionsOf(settings: TrainSettings): TrainingOptions {
  const { mode, lr, batchSize, steps, localCount, momentum, freezeTowers, scenes, views } = settings;
  return trainingOptions({ mode, lr, batchSize, steps, localCount, momentum, freezeTowers, scenes, views });
}

const sameSettings = (a: TrainSettings | null, b: TrainSettings): boolean =>
  a !== null && (Object.keys(b) as (keyof TrainSettings)[]).every((k) => a[k] === b[k]);

/** The settings a run was built with, for the form (and the URL) after a restore. */
function settingsOf(run: RunInfo, current: TrainSettings): TrainSettings {
  const o = run.options;
  const preset = run.preset === 'tiny' || run.preset === 'small' ? run.preset : current.preset;
  return {
    ...current,
    preset,
    mode: o.mode,
    lr: o.lr,
    batchSize: o.batchSize,
    steps: o.steps,
    localCount: o.localCount,
    momentum: o.momentum,
    freezeTowers: o.freezeTowers,
    scenes: o.scenes,
    views: o.views,
  };
}

const initial = typeof window === 'undefined' ? { settings: DEFAULT_SETTINGS, tab: 'train' as Tab } : parseUrl(window.location.search);

export const useAppStore = create<AppState>()((set, get) => {
  const syncUrl = () => writeUrl({ settings: get().settings, tab: get().tab });
  /** The settings of the last model asked for: Train starts that model when they still hold. */
  let builtFrom: TrainSettings | null = null;

  /**
   * Builds the model of the settings: a fresh one of the preset; the loaded checkpoint again (with the settings'
   * options) while one is loaded, unless `freshPreset`; the run saved in this browser with `resume`.
   */
  const init = ({ resume = false, freshPreset = false } = {}) => {
    const { engine, settings, run } = get();
    if (!engine) return;
    builtFrom = resume ? null : settings;
    set({ demoModel: null });
    const reloadCheckpoint = !freshPreset && run !== null && run.preset === null;
    set({ building: true });
    engine.send({ type: 'init', preset: reloadCheckpoint ? null : settings.preset, options: optionsOf(settings), evalEvery: settings.evalEvery, resume });
  };

  /** Asks the worker to train on other data; the form shows progress, then the summary or why it failed. */
  const switchData = async (chosen: PathedBlob[] | Promise<PathedBlob[]> | null) => {
    const { engine } = get();
    if (!engine) return;
    set({ dataLoad: { status: 'loading', name: 'the files', done: 0, total: 0 } });
    try {
      const files = await chosen;
      if (files?.length === 0) throw new Error('Nothing to read: what was dropped holds no files.');
      const name = files ? nameOfFiles(files) : BUILT_IN_SCENES;
      set({ dataLoad: { status: 'loading', name, done: 0, total: 0 } });
      const dataSet = await engine.setData(files, ({ done, total }) => set({ dataLoad: { status: 'loading', name, done, total } }));
      set({ dataSet, dataLoad: { status: 'idle' } });
    } catch (error) {
      set({ dataLoad: { status: 'failed', message: errorMessage(error) } });
    }
  };

  const onEvent = (event: EngineEvent) => {
    switch (event.type) {
      case 'device':
        if (event.status === 'ready') {
          // A new device after a lost one: the notice of the recovery says what happened.
          set({ phase: 'ready', adapter: event.adapter, kernels: event.kernels, lost: null });
          void get().runSelfTest();
        } else {
          set({ phase: event.status, error: event.message });
        }
        return;
      case 'deviceLost':
        set({ lost: event.message });
        return;
      case 'ready': {
        const { type: _, state, step, data, log, trainedOn, ...run } = event;
        set({
          run,
          dataSet: data,
          trainedOn,
          runState: state,
          step,
          history: log.steps,
          evals: log.evals,
          building: false,
          playedAt: null,
          lastStepAt: null,
          savedStep: step > 0 ? step : null,
        });
        // A restored run brings its own settings: the form and the address show them.
        if (step > 0) {
          set({ settings: settingsOf(run, get().settings) });
          syncUrl();
        }
        return;
      }
      case 'state':
        // Each time it starts running, the first step may compile kernels: the panel counts from here.
        if (event.state === 'running' && get().runState !== 'running') set({ playedAt: performance.now() });
        set({ runState: event.state });
        return;
      case 'step':
        set((s) => ({
          step: event.record.step,
          lastStepAt: performance.now(),
          history: appendThinned(s.history, { ...event.record, memory: event.memory }),
        }));
        return;
      case 'eval':
        set((s) => ({ evals: appendThinned(s.evals, { step: event.step, ...event.record }) }));
        return;
      case 'saved':
        set({ savedStep: event.step });
        return;
      case 'error':
        set((s) => ({ engineErrors: [...s.engineErrors, event.message], building: false }));
        return;
    }
  };

  return {
    phase: 'idle',
    adapter: null,
    kernels: null,
    error: null,
    lost: null,
    selfTest: { status: 'idle' },

    async runSelfTest() {
      const { engine, phase, selfTest } = get();
      if (!engine || phase !== 'ready' || selfTest.status === 'running') return;
      set({ selfTest: { status: 'running' } });
      try {
        const result = await engine.selfTest();
        set({ selfTest: { status: result.passed ? 'passed' : 'failed', result } });
      } catch (error) {
        set({ selfTest: { status: 'error', message: errorMessage(error) } });
      }
    },

    engine: null,
    run: null,
    runState: 'empty',
    step: 0,
    history: [],
    evals: [],
    playedAt: null,
    lastStepAt: null,
    savedStep: null,
    building: false,
    engineErrors: [],
    savedRun: null,
    settings: initial.settings,
    tab: initial.tab,
    dataSet: { name: BUILT_IN_SCENES, summary: null, heldOutCaptions: [] },
    dataLoad: { status: 'idle' },
    trainedOn: null,

    trainOnFiles: (files) => switchData(files),
    trainOnBuiltIn: () => switchData(null),

    startEngine() {
      if (get().engine) return;
      const engine = EngineClient.start();
      engine.on(onEvent);
      set({ engine, phase: 'acquiring' });
      init();
      // No demo models (a build without public/models): the page offers training only.
      engine
        .demos()
        .then((demos) => set({ demos }))
        .catch(() => undefined);
      engine
        .listCheckpoints()
        .then((saved) => set({ savedRun: saved.find((c) => c.name === AUTOSAVE_CHECKPOINT) ?? null }))
        .catch(() => undefined); // no browser storage: nothing to offer, training still works
    },

    setSettings(patch) {
      const before = get().settings;
      set({ settings: { ...before, ...patch } });
      syncUrl();
      // The architecture (preset) and the teacher (mode) change the model shown as ready: build it now.
      const idle = get().runState !== 'running' && get().runState !== 'paused';
      if (idle && (patch.preset ?? before.preset) !== before.preset) init({ freshPreset: true });
      else if (idle && (patch.mode ?? before.mode) !== before.mode) init();
    },

    setTab(tab) {
      set({ tab });
      syncUrl();
    },

    train() {
      const { engine, building, runState, settings } = get();
      if (!engine) return;
      // The worker starts the model being built once it is ready: no need to build it twice.
      if (!((building || runState === 'ready') && sameSettings(builtFrom, settings))) init();
      set({ savedRun: null });
      engine.send({ type: 'start' });
    },

    pause() {
      get().engine?.send({ type: 'pause' });
    },

    resume() {
      get().engine?.send({ type: 'resume' });
    },

    stop() {
      get().engine?.send({ type: 'stop' });
    },

    demos: null,
    demoLoad: { status: 'idle' },
    demoModel: null,

    async explore() {
      const { engine, demos } = get();
      if (!engine || !demos) return;
      set({ demoLoad: { status: 'loading', name: 'the COSMOS demo model', done: 0, total: 0 }, savedRun: null });
      try {
        await engine.loadDemo('cosmos', ({ done, total }) => set({ demoLoad: { status: 'loading', name: 'the COSMOS demo model', done, total } }));
        // Training after exploring fine-tunes the demo model on the scenes it knows.
        const settings = { ...get().settings, scenes: demos.scenes, views: demos.views, mode: demos.models.cosmos.mode };
        // The run the worker built is the demo model with these settings: Train fine-tunes it as it is.
        builtFrom = settings;
        set({ demoLoad: { status: 'idle' }, settings, demoModel: 'cosmos' });
        syncUrl();
        // Attention opens on the map that points best on this model: relevance (from its block) or the pooler's.
        const best = bestPointingMap(demos.models.cosmos.evaluate);
        const relevance = best?.kind === 'relevance' ? { relevance: true, start: best.start } : { relevance: false };
        useAnalysisState.getState().set({ source: { kind: 'scene', index: demos.showcase }, caption: null, ...relevance });
        get().setTab('attention');
      } catch (error) {
        set({ demoLoad: { status: 'failed', message: errorMessage(error) } });
      }
    },

    resumeSaved() {
      set({ savedRun: null });
      init({ resume: true });
    },

    dismissEngineError(index) {
      set((s) => ({ engineErrors: s.engineErrors.filter((_, i) => i !== index) }));
    },
  };
});
