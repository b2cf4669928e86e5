/**
 * `cosmos train`: the training run the app runs, headless. One JSON line per logged step, then a last line with the
 * held-out retrieval recalls (fractions; 256 held-out scenes, chance Recall@1 = 1/256), and the run written as a
 * released-layout .pt (student with "module.", teacher, epoch, AdamW state) that the reference code can resume.
 * `--data` trains on the user's images instead (a folder or a zip with captions, as the app takes them; every
 * 10th pair held out), and `--init F.pt --freeze-towers` fine-tunes only the poolers, mappings and projections.
 * `--init` takes any model the CLI reads: a plain CLIP one (OpenCLIP, OpenAI, Hugging Face) starts a COSMOS
 * fine-tune with COSMOS's parts added and the teacher a copy of the student, as the reference starts one.
 * `--out` is also saved every 50 steps (`--save-every K`), each time whole or not at all; when the GPU device is
 * lost, a new one is acquired and training goes on from that save (or from the start, before the first).
 */
import type { SceneKinds } from '../data/scenes.ts';
import type { ViewRecipeName } from '../cosmos/views/augment.ts';
import { readTrainingCheckpoint, restoreTrainingCheckpoint, writeTrainingCheckpoint } from '../cosmos/trainingCheckpoint.ts';
import { rename } from 'node:fs/promises';
import { fileSink, fileSource } from '../checkpoint/nodeFiles.ts';
import { GpuDeviceLostError } from '../gpu/errors.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { errorMessage } from '../format.ts';
import { PRESETS, type PresetName } from '../cosmos/presets.ts';
import { MAX_SKIPPED_IN_A_ROW, TrainingRun, type StepRecord, skippedStopMessage } from '../cosmos/training.ts';
import { trainingOptions } from '../cosmos/trainingOptions.ts';
import { HELD_OUT_COUNT, type TrainingData, sceneData } from '../data/dataset.ts';
import { userDataFromPath } from '../data/userData-node.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { type HeldOutRecord, heldOutRecord } from '../eval/heldOut.ts';
import { UsageError } from './args.ts';
import { defineCommand } from './command.ts';
import { loadForTraining } from './inputs.ts';

/** Steps between saves to --out (and at the end): what a lost device can cost. */
const SAVE_EVERY = 50;

/**
 * Whether the runtime's device was lost: told at once by a GpuDeviceLostError, else by the device's own lost
 * promise, which may settle a moment after the failure it caused.
 */
function deviceLost(runtime: GpuRuntime): { happened(error: unknown): Promise<boolean> } {
  const lost = new Promise<true>((resolve) => runtime.onLost(() => resolve(true)));
  return {
    happened: (error) =>
      error instanceof GpuDeviceLostError || runtime.isLost
        ? Promise.resolve(true)
        : Promise.race([lost, new Promise<false>((r) => setTimeout(() => r(false), 1000))]),
  };
}

const round = (x: number, digits = 6) => Number(x.toPrecision(digits));
const rounded = (record: HeldOutRecord) =>
  Object.fromEntries(Object.entries(record).map(([k, v]) => [k, v === null ? null : round(v)])) as unknown as HeldOutRecord;

function stepLine(r: StepRecord) {
  return {
    step: r.step,
    total: round(r.total),
    clip: round(r.clip),
    cosmos: Number.isNaN(r.cosmos) ? null : round(r.cosmos),
    logit_scale: round(Math.log(r.temperature)),
    distill_logit_scale: round(Math.log(r.distillTemperature)),
    lr: round(r.lr),
    samples_per_second: round(r.samplesPerSecond, 4),
    // Only on a skipped step: why it changed nothing.
    ...(r.skipped ? { skipped: r.skipped } : {}),
  };
}

/** The user's images, with what was used and what was skipped said on stderr. */
async function userData(path: string, options: { sourceSize: number; seed: number }, progress: (line: string) => void): Promise<TrainingData> {
  const { data, summary } = await userDataFromPath(path, { workingSize: options.sourceSize, seed: options.seed });
  progress(`${data.name}: ${summary.used} image-caption pairs (${summary.heldOut} held out), captions from ${summary.captionSource}`);
  for (const { path: file, reason } of summary.skipped) progress(`skipped ${file}: ${reason}`);
  return data;
}

export const trainCommand = defineCommand({
  name: 'train',
  summary: 'train a preset or fine-tune a checkpoint, on the built-in scenes or your images, and report held-out retrieval',
  flags: {
    preset: { kind: 'string', choices: Object.keys(PRESETS), value: 'tiny' },
    mode: { kind: 'string', choices: ['cosmos', 'clip'], value: 'cosmos' },
    steps: { kind: 'number', min: 1, value: 'N' },
    batch: { kind: 'number', min: 2, value: 'B' },
    lr: { kind: 'number', min: 0, value: 'LR' },
    seed: { kind: 'number', min: 0, value: 'S' },
    'log-every': { kind: 'number', min: 1, value: 'K' },
    'eval-count': { kind: 'number', min: 2, value: 'N' },
    'eval-every': { kind: 'number', min: 1, value: 'K' },
    init: { kind: 'string', value: 'F.pt' },
    data: { kind: 'string', value: 'DIR|ZIP' },
    'freeze-towers': { kind: 'switch' },
    scenes: { kind: 'string', choices: ['all', 'teaching'] },
    views: { kind: 'string', choices: ['cosmos', 'teaching'] },
    out: { kind: 'string', value: 'G.pt' },
    'save-every': { kind: 'number', min: 1, value: 'K' },
  },
  async run(flags, ctx) {
    if (flags.steps === undefined) throw new UsageError('--steps is required');
    if (flags['save-every'] !== undefined && !flags.out) throw new UsageError('--save-every needs --out, the file it saves to');
    const mode = (flags.mode ?? 'cosmos') as 'cosmos' | 'clip';
    const options = trainingOptions({
      mode,
      steps: flags.steps,
      batchSize: flags.batch,
      lr: flags.lr,
      seed: flags.seed,
      freezeTowers: flags['freeze-towers'],
      scenes: flags.scenes as SceneKinds | undefined,
      views: flags.views as ViewRecipeName | undefined,
    });
    const tokenizer = await loadClipTokenizer();
    let runtime = await ctx.gpu();
    const init = flags.init ? await loadForTraining(ctx, { checkpoint: flags.init }, options.seed, mode === 'cosmos') : null;
    if (init) ctx.progress(`${flags.init}: ${init.source.kind} ${init.source.architecture} (${init.source.dtype})`);
    const config = init?.student.config ?? PRESETS[(flags.preset ?? 'tiny') as PresetName];
    options.sourceSize = Math.max(options.sourceSize, config.vision.imageSize);
    let data: TrainingData;
    try {
      data = flags.data ? await userData(flags.data, options, ctx.progress) : sceneData(await loadSceneAtlasFromDisk(), options.seed, options.scenes);
    } catch (error) {
      init?.student.dispose();
      init?.teacher?.dispose();
      throw error;
    }
    const out = flags.out;
    const saveEvery = out ? (flags['save-every'] ?? SAVE_EVERY) : null;
    const name = `cosmos-web ${flags.init ? 'loaded' : (flags.preset ?? 'tiny')} ${mode}`;
    let run = new TrainingRun(config, options, data, tokenizer, init?.student, init?.teacher);
    /** The step the file at --out holds, once this run has written it. */
    let savedStep: number | null = null;
    try {
      const logEvery = flags['log-every'] ?? 1;
      const evalCount = flags['eval-count'] ?? HELD_OUT_COUNT;
      const started = performance.now();
      const evaluate = async () => {
        const record = await heldOutRecord(run.student, run.data, tokenizer, evalCount);
        return { step: run.step, seconds: round((performance.now() - started) / 1000, 4), ...rounded(record) };
      };
      let lost = deviceLost(runtime);
      while (run.step < options.steps) {
        let record: StepRecord;
        try {
          record = await run.trainStep();
        } catch (error) {
          if (!(await lost.happened(error))) throw error;
          // The old run's tensors lived on the lost device: dropped, not disposed (the new device never had them).
          const from = savedStep === null ? (flags.init ? `${flags.init} again` : 'the start') : `${out} (step ${savedStep})`;
          const why = error instanceof GpuDeviceLostError ? error.reason : errorMessage(error);
          ctx.progress(`The GPU device was lost (${why}) after step ${run.step}; a new one is acquired and training goes on from ${from}.`);
          runtime = await ctx.gpu();
          lost = deviceLost(runtime);
          run = await rebuild(savedStep === null ? null : { file: out!, step: savedStep });
          continue;
        }
        // A skipped step is always logged, whatever --log-every says.
        if (record.step % logEvery === 0 || record.step === options.steps || record.skipped) {
          const line = stepLine(record);
          ctx.result(
            line,
            () =>
              `step ${line.step}${line.skipped ? ` skipped (${line.skipped})` : ''}: loss ${line.total} (clip ${line.clip}, cosmos ${line.cosmos ?? '-'}), lr ${line.lr}, ${line.samples_per_second} samples/s`,
          );
        }
        if (run.skippedInARow >= MAX_SKIPPED_IN_A_ROW) {
          const kept = savedStep === null ? (out ? `${out} is not written` : 'nothing is written') : `${out} keeps step ${savedStep}`;
          throw new Error(skippedStopMessage(record, kept));
        }
        if (saveEvery && record.step % saveEvery === 0 && record.step < options.steps && !record.skipped) {
          await save(out!);
          savedStep = record.step;
        }
        if (flags['eval-every'] && record.step % flags['eval-every'] === 0 && record.step < options.steps) {
          const line = { eval: true, ...(await evaluate()) };
          ctx.result(line, () => `held-out at step ${line.step}: i2t R@1 ${line.i2t_r1}, pointing ${line.pointing_cross_attention ?? '-'}`);
        }
      }
      const final = { final: true, ...(await evaluate()) };
      ctx.result(
        final,
        () =>
          `held-out retrieval: i2t R@1 ${final.i2t_r1}, R@5 ${final.i2t_r5}; t2i R@1 ${final.t2i_r1}, R@5 ${final.t2i_r5}; ` +
          `pointing: cross-attention ${final.pointing_cross_attention ?? '-'}, dense ${final.pointing_dense ?? '-'}`,
      );
      if (out) {
        await save(out);
        ctx.progress(`wrote ${out}`);
      }
    } finally {
      if (!runtime.isLost) run.dispose();
    }

    /** Writes the run to `file` whole or not at all: into a temporary file, renamed over `file` once complete. */
    async function save(file: string): Promise<void> {
      const partial = `${file}.partial`;
      await writeTrainingCheckpoint(await fileSink(partial), {
        student: run.student,
        teacher: run.teacher,
        optimizer: run.trainer.optimizer,
        epoch: 1,
        name,
        lr: options.lr,
      });
      await rename(partial, file);
    }

    /** The run again on the new device: from the save at `from`, else from the start (the --init file read again). */
    async function rebuild(from: { file: string; step: number } | null): Promise<TrainingRun> {
      if (!from) {
        const again = flags.init ? await loadForTraining(ctx, { checkpoint: flags.init }, options.seed, mode === 'cosmos') : null;
        return new TrainingRun(config, options, data, tokenizer, again?.student, again?.teacher);
      }
      const restored = new TrainingRun(config, options, data, tokenizer);
      const source = await fileSource(from.file);
      try {
        const trainable = restored.trainer.optimizer.state().params.map((p) => p.name);
        const checkpoint = await readTrainingCheckpoint(source, { trainable });
        await restoreTrainingCheckpoint(checkpoint, { student: restored.student, teacher: restored.teacher, optimizer: restored.trainer.optimizer });
      } finally {
        await source.close();
      }
      restored.continueAt(from.step);
      return restored;
    }
  },
});
