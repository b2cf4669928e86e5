/**
 * The engine worker's side of the Evaluate tab: reads the chosen data set (folder, zip or shards) as the CLI does,
 * evaluates the chosen models side by side in one pass over its images, each piece of GPU work queued between
 * training steps, reports progress with the time left, and stops when cancelled. It also holds the second model
 * and makes the WiSE-FT mix of the loaded checkpoint and the run fine-tuned from it.
 */
import { chosenFiles, openModelFiles } from '../checkpoint/modelFiles.ts';
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { cosmosModelFromCheckpoint, modelFromCheckpoint } from '../cosmos/load.ts';
import type { ClipModel } from '../cosmos/model.ts';
import { type ModelSource, type ResolvedConfig, describeSource, resolveConfig } from '../cosmos/modelSource.ts';
import type { TrainingRun } from '../cosmos/training.ts';
import { wiseFt } from '../cosmos/wiseFt.ts';
import { decodeImageBlob } from '../data/image.ts';
import { shardPattern, sizesJson, writeShards } from '../data/shardWriter.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { type PathedBlob, nameOfFiles, withZipFiles } from '../data/userData-browser.ts';
import { captionedFiles } from '../data/userData.ts';
import type { UserFile } from '../data/userData.ts';
import { type DataTree, treeOfFiles } from '../eval/benchmark/dataTree.ts';
import { detectSource } from '../eval/benchmark/detect.ts';
import type { EvalHooks, EvalModel, EvalReport } from '../eval/benchmark/run.ts';
import { evaluateClassification } from '../eval/benchmark/runClassification.ts';
import { evaluateRetrieval } from '../eval/benchmark/runRetrieval.ts';
import { evaluateSegmentation } from '../eval/benchmark/runSegmentation.ts';
import type { ClassificationSource, SegmentationSource } from '../eval/benchmark/source.ts';
import type { EvaluateCommand, EvaluateRequest, EvaluationResult } from './evaluateProtocol.ts';
import type { LoadedModelSource, WorkerEvent } from './protocol.ts';
import type { GpuQueue } from './run.ts';

/** What the handler needs of the engine worker. */
export interface EvaluationContext {
  post(event: WorkerEvent): void;
  gpuQueue: GpuQueue;
  tokenizer(): Promise<ClipTokenizer>;
  /** The current run, what it was loaded from, and whether it is training now. */
  session(): Promise<{ run: TrainingRun; source: LoadedModelSource | null; training: boolean } | null>;
  /** The checkpoint the run was loaded from (its files, weights and architecture), or null for a preset. */
  loadedFrom(): { files: File[]; weights: WeightsChoice; config?: ResolvedConfig } | null;
  /** The user's training files, when the run trains on them (not the built-in scenes). */
  trainingFiles(): Promise<PathedBlob[] | null>;
}

export const EVALUATE_FAILED: Record<EvaluateCommand['type'], string> = {
  evaluate: 'Could not evaluate',
  cancelEvaluation: 'Could not stop the evaluation',
  loadSecondModel: 'Could not load the second model',
  writeShards: 'Could not write the shards',
};

let running: AbortController | null = null;
let second: { model: ClipModel; source: ModelSource } | null = null;

/** A model from chosen files (a checkpoint file, or a folder's files), its student or only weights. */
async function modelOfFiles(files: File[], weights: WeightsChoice = 'student'): Promise<{ model: ClipModel; source: ModelSource }> {
  const modelFiles = chosenFiles(files);
  const opened = await openModelFiles(modelFiles, { weights: weights });
  const resolved = resolveConfig(opened, modelFiles.name, undefined);
  return { model: await modelFromCheckpoint(opened, { config: resolved.config }), source: describeSource(opened, modelFiles.name, resolved) };
}

/** Runs `use` on the chosen files as a data tree, with any .tar files among them as shards; a single zip is opened. */
async function withTree<T>(files: PathedBlob[], use: (tree: DataTree, shards: { name: string; blob: Blob }[]) => Promise<T>): Promise<T> {
  const name = nameOfFiles(files);
  const only = files.length === 1 ? files[0]! : null;
  if (only?.path.toLowerCase().endsWith('.zip')) return withZipFiles(only.blob, only.path, undefined, (entries) => use(treeOfFiles(name, entries), []));
  const isTar = (f: PathedBlob) => f.path.toLowerCase().endsWith('.tar');
  const shards = files.filter(isTar).map((f) => ({ name: f.path, blob: f.blob }));
  shards.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const others: UserFile[] = files.filter((f) => !isTar(f)).map((f) => ({ path: f.path, read: async () => f.blob }));
  return use(treeOfFiles(name, others), shards);
}

interface PickedModel extends EvalModel {
  /** Made for this evaluation (the WiSE-FT mix): disposed after it. */
  owned: boolean;
}

async function pickModels(request: EvaluateRequest, ctx: EvaluationContext): Promise<PickedModel[]> {
  const session = await ctx.session();
  const picked: PickedModel[] = [];
  const step = session ? `, step ${session.run.step}` : '';
  try {
    for (const choice of request.models) {
      if (choice === 'second') {
        if (!second) throw new Error('no second model is loaded: load one first');
        picked.push({ label: second.source.name, model: second.model, owned: false });
        continue;
      }
      if (!session) throw new Error('no model is ready yet: press Train or load a checkpoint first');
      if (choice === 'student') picked.push({ label: `This run (student${step})`, model: session.run.student, owned: false });
      else if (choice === 'teacher') {
        if (!session.run.teacher) throw new Error('this run has no teacher (CLIP mode)');
        picked.push({ label: `This run (teacher${step})`, model: session.run.teacher, owned: false });
      } else {
        const loaded = ctx.loadedFrom();
        if (!loaded || !session.source)
          throw new Error('WiSE-FT mixes a loaded checkpoint with the run fine-tuned from it: load a checkpoint in Checkpoints, then train');
        const mixed = await ctx.gpuQueue.run(async () => {
          const files = chosenFiles(loaded.files);
          const opened = await openModelFiles(files, { weights: loaded.weights });
          const config = resolveConfig(opened, files.name, loaded.config).config;
          // The same seed as the run's start: COSMOS's parts added to a plain CLIP model start where the run's did.
          const zero = await cosmosModelFromCheckpoint(opened, session.run.options.seed, { config });
          try {
            return wiseFt(zero, session.run.student, request.alpha);
          } finally {
            zero.dispose();
          }
        });
        picked.push({ label: `WiSE-FT ${request.alpha.toFixed(2)} (${session.source.name}${step})`, model: mixed, owned: true });
      }
    }
    return picked;
  } catch (error) {
    for (const p of picked) if (p.owned) p.model.dispose();
    throw error;
  }
}

async function evaluate(requestId: number, request: EvaluateRequest, ctx: EvaluationContext): Promise<EvaluationResult> {
  if (running) throw new Error('an evaluation is already running');
  if ((await ctx.session())?.training) throw new Error('pause or stop training first: the weights would change under the evaluation');
  if (request.models.length === 0) throw new Error('choose at least one model');
  const controller = new AbortController();
  running = controller;
  const tokenizer = await ctx.tokenizer();
  const models = await pickModels(request, ctx).catch((error) => {
    running = null;
    throw error;
  });
  const hooks: EvalHooks = {
    decode: (blob, path) => decodeImageBlob(blob instanceof File ? blob : new File([blob], path.slice(path.lastIndexOf('/') + 1))),
    signal: controller.signal,
    gpu: (work) => ctx.gpuQueue.run(work),
    onProgress: (p) => ctx.post({ type: 'progress', requestId, what: p.phase, done: p.done, total: p.total ?? 0, detail: p }),
    ...(request.limit ? { limit: request.limit } : {}),
  };
  try {
    return await withTree(request.files, async (tree, shards) => {
      const source = await detectSource(request.task, tree, shards);
      let report: EvalReport;
      if (request.task === 'retrieval') report = await evaluateRetrieval(models, source, tokenizer, hooks);
      else if (request.task === 'classification') report = await evaluateClassification(models, source as ClassificationSource, tokenizer, hooks);
      else {
        const { csa, logitScale, threshold } = request.segmentation;
        const settings = csa === 'on' ? [true] : csa === 'off' ? [false] : [false, true];
        report = await evaluateSegmentation(models, source as SegmentationSource, tokenizer, { csa: settings, logitScale, threshold }, hooks);
      }
      return { task: request.task, dataset: source.name, layout: source.layout, source: shards[0]?.name ?? tree.name, report };
    });
  } finally {
    running = null;
    await ctx.gpuQueue.run(async () => {
      for (const m of models) if (m.owned) m.model.dispose();
    });
  }
}

async function writeRunShards(perShard: number, ctx: EvaluationContext) {
  const files = await ctx.trainingFiles();
  if (!files) throw new Error('the run trains on the built-in scenes: choose your images in Train first');
  const only = files.length === 1 ? files[0]! : null;
  const write = async (entries: UserFile[]) => {
    const { captioned } = await captionedFiles(entries);
    if (captioned.length === 0) throw new Error('none of the chosen images has a caption');
    // Zip entries are inflated into memory as they are read: the shards then hold them, not the zip.
    const shards = await writeShards(captioned, perShard);
    return { shards: shards.map(({ name, blob, samples }) => ({ name, blob, samples })), sizes: sizesJson(shards), pattern: shardPattern(shards) };
  };
  if (only?.path.toLowerCase().endsWith('.zip')) return withZipFiles(only.blob, only.path, undefined, write);
  if (files.every((f) => f.path.toLowerCase().endsWith('.tar'))) throw new Error('the run already trains on shards');
  return write(files.map((f) => ({ path: f.path, read: async () => f.blob })));
}

export async function handleEvaluation(command: EvaluateCommand, ctx: EvaluationContext): Promise<void> {
  switch (command.type) {
    case 'evaluate': {
      const result = await evaluate(command.requestId, command.request, ctx);
      return ctx.post({ type: 'evaluated', requestId: command.requestId, result });
    }
    case 'cancelEvaluation':
      running?.abort();
      return;
    case 'loadSecondModel': {
      const loaded = await ctx.gpuQueue.run(() => modelOfFiles(command.files));
      const previous = second;
      second = loaded;
      if (previous) await ctx.gpuQueue.run(async () => previous.model.dispose());
      return ctx.post({ type: 'secondModel', requestId: command.requestId, source: loaded.source });
    }
    case 'writeShards':
      return ctx.post({ type: 'shards', requestId: command.requestId, written: await writeRunShards(command.perShard, ctx) });
  }
}
