/**
 * The run saved in this browser: its training checkpoint (released layout, so it also downloads as a .pt the
 * reference loads) in the checkpoint store under AUTOSAVE_CHECKPOINT, and beside it, in a folder of its own, what the
 * checkpoint cannot hold: the preset, architecture, training options, step and the charts' log. Both are written
 * before either is switched in (saveTogether), so a crash mid-save leaves the previous save whole.
 */
import { type CheckpointStore, opfsStore, saveCheckpoint, saveTogether } from '../checkpoint/opfs.ts';
import { readTrainingCheckpoint, restoreTrainingCheckpoint, writeTrainingCheckpoint } from '../cosmos/trainingCheckpoint.ts';
import type { ByteSink } from '../checkpoint/byteSink.ts';
import { type CosmosConfig, fromOpenClipConfig, type OpenClipModelConfig, toOpenClipConfig } from '../cosmos/config.ts';
import type { PresetName } from '../cosmos/presets.ts';
import { learningRate } from '../cosmos/schedule.ts';
import { TrainingRun } from '../cosmos/training.ts';
import { TINY_TRAINING, type TrainingOptions } from '../cosmos/trainingOptions.ts';
import type { TrainingData } from '../data/dataset.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { AUTOSAVE_CHECKPOINT } from './protocol.ts';
import { withRoomCheck } from './storageFull.ts';
import type { RunLog } from './runLog.ts';

const RUN_FILE = 'autosave.json';

export interface SavedRun {
  preset: PresetName | null;
  /** OpenCLIP's schema, every key named; saves made before held CosmosConfig with one `poolerHeads` (still read). */
  config: OpenClipModelConfig | LegacyConfig;
  options: TrainingOptions;
  step: number;
  /** Milliseconds since the epoch. */
  savedAt: number;
  /** What the charts drew up to `step` (absent in saves made before it was kept). */
  log?: RunLog;
  /** The name of the data set it trained on; the user's files themselves are not saved. */
  data?: string;
}

/** The checkpoints the user sees (and the Checkpoints panel lists), and the run descriptions beside them. */
export interface RunStores {
  checkpoints: CheckpointStore;
  runs: CheckpointStore;
}

let stores: Promise<RunStores> | null = null;

/** The stores in the browser's origin private file system. */
export function browserStores(): Promise<RunStores> {
  stores ??= Promise.all([opfsStore('checkpoints'), opfsStore('runs')]).then(([checkpoints, runs]) => ({ checkpoints, runs }));
  stores.catch(() => (stores = null)); // let a later call try again
  return stores;
}

/** A file name for the run at its current step: "cosmos-web-tiny-cosmos-step150.pt". */
export function checkpointName(run: TrainingRun, preset: PresetName | null): string {
  return `cosmos-web-${preset ?? 'loaded'}-${run.options.mode}-step${run.step}.pt`;
}

/** Streams the run as a released-layout checkpoint. Nothing may step the run until it settles (GpuQueue). */
export function writeRun(sink: ByteSink, run: TrainingRun, preset: PresetName | null): Promise<void> {
  const o = run.options;
  return writeTrainingCheckpoint(sink, {
    student: run.student,
    teacher: run.teacher,
    optimizer: run.trainer.optimizer,
    // Steps over generated scenes, not epochs: the reference starts its own epoch count at 0 from here.
    epoch: 0,
    name: `cosmos-web ${preset ?? 'loaded'} ${o.mode}`,
    lr: learningRate(Math.max(0, run.step - 1), o.lr, o.warmupSteps, o.steps),
  });
}

/** Saves the run in the checkpoint store under checkpointName, the name it returns. Inside the GPU queue. */
export async function saveRun(checkpoints: CheckpointStore, run: TrainingRun, preset: PresetName | null): Promise<string> {
  const name = checkpointName(run, preset);
  await withRoomCheck(run, checkpoints, () => saveCheckpoint(checkpoints, name, (sink) => writeRun(sink, run, preset)));
  return name;
}

/**
 * Saves the run: its checkpoint and its description are both written in full under temporary names before
 * either replaces the previous save, so a save cut off (the tab closed, the worker terminated) leaves the
 * previous one whole. Only between the two switches, two renames apart, would they disagree.
 */
export async function autosave(run: TrainingRun, preset: PresetName | null, log: RunLog, { checkpoints, runs }: RunStores): Promise<void> {
  const saved: SavedRun = { preset, config: toOpenClipConfig(run.config), options: run.options, step: run.step, savedAt: Date.now(), log, data: run.data.name };
  await withRoomCheck(run, checkpoints, () =>
    saveTogether([
      { store: checkpoints, name: AUTOSAVE_CHECKPOINT, write: (sink) => writeRun(sink, run, preset) },
      {
        store: runs,
        name: RUN_FILE,
        async write(sink) {
          await sink.write(new TextEncoder().encode(JSON.stringify(saved)));
          await sink.close();
        },
      },
    ]),
  );
}

/** The config of saves made before the poolers' heads were per tower. */
type LegacyConfig = Omit<CosmosConfig, 'vision' | 'text'> & {
  vision: Omit<CosmosConfig['vision'], 'attnPoolerHeads'>;
  text: Omit<CosmosConfig['text'], 'attnPoolerHeads'>;
  poolerHeads: number;
};

const isLegacy = (config: SavedRun['config']): config is LegacyConfig => typeof config.poolerHeads === 'number';

function savedConfig(config: SavedRun['config']): CosmosConfig {
  if (!isLegacy(config)) return fromOpenClipConfig(config);
  const { poolerHeads, vision, text, embedDim } = config;
  return { embedDim, vision: { ...vision, attnPoolerHeads: poolerHeads }, text: { ...text, attnPoolerHeads: poolerHeads } };
}

async function readSavedRun(runs: CheckpointStore): Promise<SavedRun> {
  try {
    const source = await runs.source(RUN_FILE);
    return JSON.parse(new TextDecoder().decode(await source.read(0, source.size))) as SavedRun;
  } catch (error) {
    throw new Error('No run is saved in this browser (or its description is unreadable); start a new one.', { cause: error });
  }
}

/** Removes a checkpoint saved in the browser; the autosave takes its description with it (nothing left to resume). */
export async function removeSaved(name: string, { checkpoints, runs }: RunStores): Promise<void> {
  await checkpoints.remove(name);
  if (name === AUTOSAVE_CHECKPOINT) await runs.remove(RUN_FILE);
}

/**
 * Rebuilds the saved run: weights, teacher, optimizer moments and step, training on what `dataFor` gives for its
 * options (the data set is not saved: the user's files stay theirs).
 */
export async function restoreRun(
  dataFor: (options: TrainingOptions) => Promise<TrainingData>,
  tokenizer: ClipTokenizer,
  { checkpoints, runs }: RunStores,
): Promise<{ run: TrainingRun; saved: SavedRun }> {
  const read = await readSavedRun(runs);
  // Runs saved before a setting existed train on with its default.
  const saved = { ...read, options: { ...TINY_TRAINING, ...read.options } };
  const run = new TrainingRun(savedConfig(saved.config), saved.options, await dataFor(saved.options), tokenizer);
  try {
    const trainable = run.trainer.optimizer.state().params.map((p) => p.name);
    const checkpoint = await readTrainingCheckpoint(await checkpoints.source(AUTOSAVE_CHECKPOINT), { trainable });
    await restoreTrainingCheckpoint(checkpoint, { student: run.student, teacher: run.teacher, optimizer: run.trainer.optimizer });
    run.continueAt(saved.step);
    return { run, saved };
  } catch (error) {
    run.dispose();
    throw error;
  }
}
