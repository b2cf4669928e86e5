/**
 * The engine worker: owns the GPU device, the data set, the models and the training run. The page sends
 * Commands (protocol.ts) and renders the WorkerEvents that come back. GPU work runs one piece at a time (GpuQueue);
 * a run is replaced (init, loadCheckpoint) only once the previous one has stopped and saved.
 */
import { HELD_OUT_COUNT } from '../data/dataset.ts';
import { errorMessage } from '../format.ts';
import { memorySink } from '../checkpoint/byteSink.ts';
import { chosenFiles, openModelFiles } from '../checkpoint/modelFiles.ts';
import { cosmosModelFromCheckpoint, hasCosmosParts, type LoadOptions, nonFiniteWarning } from '../cosmos/load.ts';
import type { ResolvedConfig } from '../cosmos/modelSource.ts';
import type { CosmosModel } from '../cosmos/model.ts';
import { describeSource, noCrossAttentionReason, resolveConfig } from '../cosmos/modelSource.ts';
import { type PresetName, PRESETS } from '../cosmos/presets.ts';
import { TrainingRun } from '../cosmos/training.ts';
import { heldOutRecord } from '../eval/heldOut.ts';
import { TINY_TRAINING, type TrainingOptions } from '../cosmos/trainingOptions.ts';
import { type SceneAtlas, loadSceneAtlas } from '../data/scenes.ts';
import { ClipTokenizer } from '../data/tokenizer.ts';
import { type GpuDeviceLostError, WebGpuUnavailableError } from '../gpu/errors.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import { runSelfTest } from '../tensor/selftest.ts';
import { installRuntime } from '../tensor/engine.ts';
import { tuneKernels } from '../tensor/tuneKernels.ts';
import { browserChoiceStore } from '../checkpoint/opfs.ts';
import { handleAnalysis } from './analysis.ts';
import { compareModels } from './analysis/compare.ts';
import { demoFiles, demoManifest, demoModel, forgetDemoModels } from './demo.ts';
import { autosave, browserStores, checkpointName, removeSaved, restoreRun, saveRun, writeRun } from './autosave.ts';
import { DataSets } from './dataSets.ts';
import { StorageFullError } from './storageFull.ts';
import { type RunLog, appendThinned, emptyLog } from './runLog.ts';
import type { Command, LoadedModelSource, Weights, WorkerEvent } from './protocol.ts';
import { GpuQueue, TrainingLoop } from './run.ts';
import { EVALUATE_FAILED, handleEvaluation } from './evaluate.ts';

const SAVE_EVERY = 50;

const scope = self as unknown as DedicatedWorkerGlobalScope;
const post = (event: WorkerEvent): void => scope.postMessage(event);

interface Resources {
  runtime: GpuRuntime;
  atlas: SceneAtlas;
  tokenizer: ClipTokenizer;
  data: DataSets;
}

interface Session {
  run: TrainingRun;
  loop: TrainingLoop;
  preset: PresetName | null;
  /** What a loaded checkpoint was; null for a preset or a restored run. */
  source: LoadedModelSource | null;
  /** The step of this run's last autosave (a restored run starts at its save); null before its first. */
  savedStep: number | null;
  /** The loop paused itself on a failed step (a lost device's step fails before the loss is known). */
  failedWhileRunning: boolean;
}

/** Whether the runtime's device is lost, or is found lost within a second: its lost promise may settle after the failure it caused. */
function lostSoon(runtime: GpuRuntime): Promise<boolean> {
  if (runtime.isLost) return Promise.resolve(true);
  return new Promise((resolve) => {
    const stop = runtime.onLost(() => resolve(true));
    setTimeout(() => {
      stop();
      resolve(false);
    }, 1000);
  });
}

let gpuQueue = new GpuQueue();
let resources: Promise<Resources> | null = null;
/** The current run; replaced in order, each replacement waiting for the one before. */
let session: Promise<Session | null> = Promise.resolve(null);
/** The options of the last init, for checkpoints loaded to fine-tune. */
let lastOptions: TrainingOptions = TINY_TRAINING;
let lastEvalEvery = 25;
/** The checkpoint last loaded, read again when its run is rebuilt with other options (the Files stay on disk). */
let lastLoaded: { files: File[]; weights: Weights; config?: ResolvedConfig } | null = null;
let deviceLost = false;
/** The last loss of the device, for the notice a build done again gives. */
let lastLoss: GpuDeviceLostError | null = null;
/** A run is being built (replaceSession): a loss meanwhile fails that build, which is then done again. */
let building = false;

let device: Promise<GpuRuntime> | null = null;

/**
 * The engine's one GPU device, acquired once; the page hears whether it came (and its adapter's facts), and
 * later whether it was lost.
 */
function acquireDevice(): Promise<GpuRuntime> {
  device ??= GpuRuntime.create(navigator.gpu).then(
    async (runtime) => {
      installRuntime(runtime);
      // Once per browser and adapter (then read back): which kernel family runs faster here.
      await tuneKernels(browserChoiceStore()).catch((error: unknown) => console.warn(`kernel choice not measured: ${errorMessage(error)}`));
      runtime.onLost((error) => void recover(error));
      post({ type: 'device', status: 'ready', adapter: runtime.adapter, kernels: runtime.kernels });
      return runtime;
    },
    (error: unknown) => {
      post({ type: 'device', status: error instanceof WebGpuUnavailableError ? 'unavailable' : 'failed', message: errorMessage(error) });
      throw error;
    },
  );
  return device;
}

/**
 * After the device is lost (a driver reset, the GPU's memory reclaimed, `device.destroy()`): the page hears it, a
 * new device is acquired, and the run comes back from its last autosave (else as it began: its preset, or its
 * checkpoint read again), training again if it was. At most the steps since that save are lost. The old run's
 * tensors lived on the lost device: they are dropped, never disposed into the new device's pool.
 */
async function recover(error: GpuDeviceLostError): Promise<void> {
  deviceLost = true;
  lastLoss = error;
  post({ type: 'deviceLost', message: error.message });
  if (building) {
    // The build in flight fails on the lost device, and buildSurvivingLoss builds it again on the new one.
    replaceDevice();
    return;
  }
  const lost = await session;
  const wasRunning = lost?.loop.state === 'running' || lost?.failedWhileRunning === true;
  lost?.loop.halt();
  // The step in flight fails on the lost device; its loop then stops. A read that never settles is not waited for.
  await Promise.race([lost?.loop.idle(), new Promise((resolve) => setTimeout(resolve, 5000))]);
  replaceDevice();
  const rebuilt = (async () => {
    const r = await boot();
    deviceLost = false;
    if (!lost) return null;
    const restored = await gpuQueue.run(() => rebuild(lost, r));
    const from = lost.savedStep === null ? 'from its start' : `from its autosave at step ${lost.savedStep}`;
    post({
      type: 'error',
      message: `The GPU device was lost (${error.reason}) at step ${lost.run.step}; a new one was acquired and the run restored ${from}${wasRunning ? ', and training goes on' : ''}.`,
    });
    if (wasRunning && restored.run.step < restored.run.options.steps) restored.loop.play();
    return restored;
  })();
  session = rebuilt.catch((cause: unknown) => {
    post({ type: 'error', message: `The GPU device was lost and the run could not be restored: ${errorMessage(cause)}` });
    return null;
  });
}

/** Drops the lost device: the next boot() acquires a new one. */
function replaceDevice(): void {
  device = null;
  // The scenes, the tokenizer and the chosen data set live on the CPU: they stay, on the new device.
  const kept = resources;
  resources = kept?.then(async (old) => ({ ...old, runtime: await acquireDevice() })) ?? null;
  // Work queued on the lost device may never settle: the new device's work has a queue of its own.
  gpuQueue = new GpuQueue();
  forgetDemoModels();
}

/** The lost session's run on the new device: from its autosave, else built again as it was first built. */
async function rebuild(lost: Session, r: Resources): Promise<Session> {
  const evalEvery = lastEvalEvery;
  if (lost.savedStep !== null) {
    const { run, saved } = await restoreRun((options) => r.data.forRun(options), r.tokenizer, await browserStores());
    return startSession(run, r, {
      preset: saved.preset,
      source: lost.source,
      evalEvery,
      initial: 'paused',
      log: saved.log ?? emptyLog(),
      trainedOn: saved.data ?? null,
    });
  }
  if (lost.preset === null) {
    if (!lastLoaded) throw new Error('the checkpoint it was loaded from is no longer at hand; load it again');
    return loadAsRun(lastLoaded.files, lastLoaded.weights, lost.run.options, r, { config: lastLoaded.config });
  }
  const run = new TrainingRun(PRESETS[lost.preset], lost.run.options, await r.data.forRun(lost.run.options), r.tokenizer);
  return startSession(run, r, { preset: lost.preset, evalEvery, initial: 'ready' });
}

function boot(): Promise<Resources> {
  resources ??= (async () => {
    const [runtime, atlas, tokenizer] = await Promise.all([acquireDevice(), loadSceneAtlas(), ClipTokenizer.load(`${import.meta.env.BASE_URL}tokenizer/`)]);
    return { runtime, atlas, tokenizer, data: new DataSets(atlas) };
  })();
  return resources;
}

interface SessionStart {
  /** null for a loaded checkpoint. */
  preset: PresetName | null;
  source?: LoadedModelSource | null;
  evalEvery: number;
  initial: 'ready' | 'paused';
  /** A restored run's chart log and the data set it trained on. */
  log?: RunLog;
  trainedOn?: string | null;
}

/** Wraps a run in its training loop and tells the page it is ready. */
function startSession(
  run: TrainingRun,
  { runtime, data, tokenizer }: Resources,
  { preset, source = null, evalEvery, initial, log = emptyLog(), trainedOn = null }: SessionStart,
): Session {
  const loop = new TrainingLoop(
    run,
    gpuQueue,
    { evalEvery, evalCount: HELD_OUT_COUNT, saveEvery: SAVE_EVERY },
    {
      post: (event) => {
        // The charts' log, saved with the run: a resumed run shows its history.
        if (event.type === 'step') log.steps = appendThinned(log.steps, { ...event.record, memory: event.memory });
        if (event.type === 'eval') log.evals = appendThinned(log.evals, { step: event.step, ...event.record });
        if (event.type === 'state' && event.state === 'running') started.failedWhileRunning = false;
        post(event);
      },
      memory: () => runtime.memory(),
      evaluate: (count) => heldOutRecord(run.student, run.data, tokenizer, count),
      save: async () => {
        await autosave(run, preset, log, await browserStores());
        started.savedStep = run.step;
      },
      failed: (error) => {
        started.failedWhileRunning = true;
        // A lost device is reported when it is known, and recovered from: the step it broke says nothing new.
        void lostSoon(runtime).then((lost) => {
          if (!lost && !deviceLost) post({ type: 'error', message: `Training paused: ${errorMessage(error)}` });
        });
      },
      saveFailed: (error) => post({ type: 'error', message: `Could not save the run in this browser (training goes on): ${errorMessage(error)}` }),
    },
    initial,
  );
  const parameters = run.student.parameters().reduce((n, t) => n + t.size, 0);
  const trainable = run.student.parameters().reduce((n, t) => n + (t.requiresGrad ? t.size : 0), 0);
  post({
    type: 'ready',
    config: run.config,
    parameters,
    trainable,
    state: initial,
    step: run.step,
    preset,
    source,
    options: run.options,
    data: data.info,
    log,
    trainedOn,
  });
  // A run restored from its autosave starts saved.
  const started: Session = { run, loop, preset, source, savedStep: run.step > 0 ? run.step : null, failedWhileRunning: false };
  return started;
}

/** Stops and saves the current run, frees it, and makes the next one with `build` (inside the GPU queue). */
function replaceSession(build: (r: Resources) => Promise<Session>): Promise<void> {
  const next = session.then(async (old) => {
    const r = await boot();
    if (old) {
      old.loop.stop();
      await old.loop.idle();
      await gpuQueue.run(async () => old.run.dispose());
    }
    return buildSurvivingLoss(build, r);
  });
  session = next.catch(() => null);
  return next.then(() => undefined);
}

/**
 * Builds a run in the GPU queue. When the device is lost while it builds, the build fails on it: it is done once
 * more on the new device recover() acquires, and the page is told so, instead of hearing of a failed build.
 */
async function buildSurvivingLoss(build: (r: Resources) => Promise<Session>, r: Resources): Promise<Session> {
  building = true;
  try {
    try {
      return await gpuQueue.run(() => build(r));
    } catch (error) {
      if (!(await lostSoon(r.runtime))) throw error;
    }
    const again = await boot();
    deviceLost = false;
    const built = await gpuQueue.run(() => build(again));
    post({
      type: 'error',
      message: `The GPU device was lost (${lastLoss?.reason ?? 'unknown'}) while the run was being built; a new one was acquired and the run built on it.`,
    });
    return built;
  } finally {
    building = false;
  }
}

async function currentSession(): Promise<Session> {
  const s = await session;
  if (!s) throw new Error('No model is ready yet: press Train to build one.');
  return s;
}

/** The run's options with sources large enough for the model's input size (a loaded checkpoint may want 224). */
function optionsFor(options: TrainingOptions, imageSize: number): TrainingOptions {
  return { ...options, sourceSize: Math.max(options.sourceSize, imageSize) };
}

/**
 * A run that fine-tunes the model in `files` (one checkpoint file, or a folder's files): a COSMOS checkpoint's
 * own student and teacher; a plain CLIP model's towers with COSMOS's parts added as the reference starts them, the
 * teacher a copy of that student. `requestId` gets progress events as the weights upload; `config`, where given, is the architecture (else the files'
 * config, else the shapes').
 */
async function loadAsRun(
  files: File[],
  weights: Weights,
  trainingOptions: TrainingOptions,
  r: Resources,
  { requestId, config: given }: { requestId?: number; config?: ResolvedConfig } = {},
): Promise<Session> {
  const progress = (what: string) => (p: { bytesDone: number; bytesTotal: number }) => {
    if (requestId !== undefined) post({ type: 'progress', requestId, what, done: p.bytesDone, total: p.bytesTotal });
  };
  const modelFiles = chosenFiles(files);
  const chosen = await openModelFiles(modelFiles, { weights });
  const resolved = resolveConfig(chosen, modelFiles.name, given);
  const { config } = resolved;
  const source = { ...describeSource(chosen, modelFiles.name, resolved), addedCosmosParts: !hasCosmosParts(chosen), weights: chosen.meta.weights };
  const seed = trainingOptions.seed;
  // A warning among the engine's notices: the weights load as they are, and the steps they spoil are skipped.
  const onNonFinite: LoadOptions['onNonFinite'] = (tensors) => post({ type: 'error', message: nonFiniteWarning(modelFiles.name, tensors) });
  const student = await cosmosModelFromCheckpoint(chosen, seed, { config, onProgress: progress(`${weights} weights`), onNonFinite });
  let teacher: CosmosModel | null = null;
  try {
    if (trainingOptions.mode === 'cosmos') {
      // The file's own teacher when it has one; else self-distillation starts from a copy of the student.
      teacher = chosen.meta.topLevelKeys.includes('teacher')
        ? await cosmosModelFromCheckpoint(await openModelFiles(modelFiles, { weights: 'teacher' }), seed, {
            config,
            onProgress: progress('teacher weights'),
            onNonFinite,
          })
        : student.copy();
    }
    const options = optionsFor(trainingOptions, config.vision.imageSize);
    const run = new TrainingRun(config, options, await r.data.forRun(options), r.tokenizer, student, teacher);
    lastLoaded = { files, weights, config: given };
    return startSession(run, r, { preset: null, source, evalEvery: lastEvalEvery, initial: 'ready' });
  } catch (error) {
    student.dispose();
    teacher?.dispose();
    throw error;
  }
}

/**
 * The run as a released-layout .pt to download. Written into browser storage and handed over as that file (it
 * stays listed there), so that even a ViT-B export (2.4 GB) never sits in memory; built in memory only where the
 * browser has no storage, or not room enough for it.
 */
async function exportRun(run: TrainingRun, preset: PresetName | null): Promise<{ blob: Blob; name: string }> {
  const stores = await browserStores().catch(() => null);
  if (stores) {
    try {
      const name = await saveRun(stores.checkpoints, run, preset);
      return { blob: await stores.checkpoints.file(name), name };
    } catch (error) {
      if (!(error instanceof StorageFullError)) throw error;
    }
  }
  const sink = memorySink();
  await writeRun(sink, run, preset);
  return { blob: new Blob([sink.bytes() as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }), name: checkpointName(run, preset) };
}

/**
 * Switches the data set of the current run (and of the runs after it). Not while a step could be reading it: the
 * page offers the choice only when training is not running.
 */
async function setData({ requestId, files }: Extract<Command, { type: 'setData' }>): Promise<void> {
  const r = await boot();
  const current = await session;
  if (current?.loop.state === 'running') throw new Error('pause or stop training first.');
  const options = current?.run.options ?? lastOptions;
  const info = files
    ? await r.data.selectFiles(files, options, (done, total) => post({ type: 'progress', requestId, what: 'decoding images', done, total }))
    : r.data.selectBuiltIn();
  // The run may have been replaced while the images decoded: the one current now trains on them.
  const now = await session;
  if (now) await gpuQueue.run(async () => now.run.switchData(await r.data.forRun(now.run.options)));
  post({ type: 'data', requestId, data: info });
}

async function handle(command: Command): Promise<void> {
  switch (command.type) {
    case 'init': {
      lastOptions = command.options;
      lastEvalEvery = command.evalEvery;
      return replaceSession(async (r) => {
        if (command.resume) {
          const { run, saved } = await restoreRun((options) => r.data.forRun(options), r.tokenizer, await browserStores());
          return startSession(run, r, {
            preset: saved.preset,
            evalEvery: command.evalEvery,
            initial: 'paused',
            log: saved.log ?? emptyLog(),
            trainedOn: saved.data ?? null,
          });
        }
        if (command.preset === null) {
          if (!lastLoaded) throw new Error('no checkpoint is loaded: load one in Checkpoints, or pick a preset.');
          return loadAsRun(lastLoaded.files, lastLoaded.weights, command.options, r, { config: lastLoaded.config });
        }
        lastLoaded = null;
        const config = PRESETS[command.preset];
        const options = optionsFor(command.options, config.vision.imageSize);
        const run = new TrainingRun(config, options, await r.data.forRun(options), r.tokenizer);
        return startSession(run, r, { preset: command.preset, evalEvery: command.evalEvery, initial: 'ready' });
      });
    }
    case 'start':
    case 'resume':
      return (await currentSession()).loop.play();
    case 'pause':
      return (await currentSession()).loop.pause();
    case 'stop':
      return (await currentSession()).loop.stop();
    case 'loadCheckpoint':
      await replaceSession((r) => loadAsRun(command.files, command.weights, lastOptions, r, { requestId: command.requestId }));
      return post({ type: 'done', requestId: command.requestId });
    case 'setData':
      return setData(command);
    case 'saveCheckpoint': {
      const { run, preset } = await currentSession();
      const { checkpoints } = await browserStores();
      await gpuQueue.run(() => saveRun(checkpoints, run, preset));
      return post({ type: 'done', requestId: command.requestId });
    }
    case 'listCheckpoints': {
      const { checkpoints } = await browserStores();
      return post({ type: 'checkpoints', requestId: command.requestId, saved: await checkpoints.list() });
    }
    case 'openSaved': {
      const { checkpoints } = await browserStores();
      return post({ type: 'download', requestId: command.requestId, blob: await checkpoints.file(command.name), name: command.name });
    }
    case 'deleteSaved':
      await removeSaved(command.name, await browserStores());
      return post({ type: 'done', requestId: command.requestId });
    case 'exportCheckpoint': {
      const { run, preset } = await currentSession();
      // Inside the queue: named and written at one step, though the loop may step again right after.
      const { blob, name } = await gpuQueue.run(() => exportRun(run, preset));
      return post({ type: 'download', requestId: command.requestId, blob, name });
    }
    case 'selfTest': {
      const runtime = await acquireDevice();
      const result = await gpuQueue.run(() => runSelfTest(runtime));
      return post({ type: 'selfTest', requestId: command.requestId, result });
    }
    case 'loadDemo': {
      // The demo model becomes the run, on the scenes it was trained on: explained, then fine-tuned from there.
      const { scenes, views, models } = await demoManifest();
      const { file, config } = await demoFiles(command.which);
      const options = { ...lastOptions, mode: models[command.which].mode, scenes, views };
      await replaceSession((r) => loadAsRun([file], 'student', options, r, { requestId: command.requestId, config }));
      return post({ type: 'done', requestId: command.requestId });
    }
    case 'demos':
      return post({ type: 'demos', requestId: command.requestId, manifest: await demoManifest() });
    case 'evaluate':
    case 'cancelEvaluation':
    case 'loadSecondModel':
    case 'writeShards':
      return handleEvaluation(command, {
        post,
        gpuQueue,
        tokenizer: async () => (await boot()).tokenizer,
        session: async () => {
          const s = await session;
          return s && { run: s.run, source: s.source, training: s.loop.state === 'running' };
        },
        loadedFrom: () => lastLoaded,
        trainingFiles: async () => (await boot()).data.files,
      });
    case 'analysis': {
      const { atlas, tokenizer } = await boot();
      const { request } = command;
      if (request.kind === 'compare') {
        // The scenes the page lists are the run's: a scene index means the same picture in every panel.
        const [{ run }, cosmos, clip] = await Promise.all([currentSession(), demoModel('cosmos'), demoModel('clip')]);
        const scenes = { atlas, kinds: run.options.scenes };
        const result = await gpuQueue.run(() => compareModels({ cosmos, clip }, scenes, tokenizer, request.image, request.caption));
        return post({ type: 'analysis', requestId: command.requestId, result });
      }
      const { run, source } = await currentSession();
      const noCrossAttention = source?.addedCosmosParts && !(run.options.mode === 'cosmos' && run.step > 0) ? noCrossAttentionReason(source) : null;
      const result = await gpuQueue.run(() => handleAnalysis(request, { run, atlas, tokenizer, student: run.student, teacher: run.teacher, noCrossAttention }));
      return post({ type: 'analysis', requestId: command.requestId, result });
    }
  }
}

/** What failed, as the page shows it. */
const FAILED: Record<Command['type'], string> = {
  init: 'Could not build the model',
  start: 'Could not start training',
  pause: 'Could not pause',
  resume: 'Could not resume training',
  stop: 'Could not stop',
  loadCheckpoint: 'Could not load the checkpoint',
  setData: 'Could not use these files as training data',
  saveCheckpoint: 'Could not save the checkpoint in this browser',
  listCheckpoints: 'Could not list the checkpoints saved in this browser',
  openSaved: 'Could not open the checkpoint saved in this browser',
  deleteSaved: 'Could not delete the checkpoint saved in this browser',
  exportCheckpoint: 'Could not export the checkpoint',
  analysis: 'Could not compute the analysis',
  selfTest: 'The GPU self-test could not run',
  loadDemo: 'Could not load the demo model',
  demos: 'Could not read the demo models',
  ...EVALUATE_FAILED,
};

scope.onmessage = (event: MessageEvent<Command>) => {
  const command = event.data;
  handle(command).catch((error: unknown) => {
    const requestId = 'requestId' in command ? command.requestId : undefined;
    post({ type: 'error', message: `${FAILED[command.type]}: ${errorMessage(error)}`, ...(requestId === undefined ? {} : { requestId }) });
  });
};

// The device and the data load while the page draws; the device's failure is reported as it happens (a `device`
// event), the data's at the first command.
void boot().catch(() => undefined);
