/**
 * `cosmos train`: the training run the app runs, headless. One JSON line per logged step, then a last line with the
 * held-out retrieval recalls (fractions; 256 held-out scenes, chance Recall@1 = 1/256), and the run written as a
 * released-layout .pt (student with "module.", teacher, epoch, AdamW state) that the reference code can resume.
 * `--data` trains on the user's images instead (a folder or a zip with captions, as the app takes them; every
 * 10th pair held out), and `--init F.pt --freeze-towers` fine-tunes only the poolers, mappings and projections.
 * `--init` takes any model the CLI reads: a plain CLIP one (OpenCLIP, OpenAI, Hugging Face) starts a COSMOS
 * fine-tune with COSMOS's parts added and the teacher a copy of the student, as the reference starts one.
 */
import type { SceneKinds } from '../data/scenes.ts';
import type { ViewRecipeName } from '../cosmos/views/augment.ts';
import { writeTrainingCheckpoint } from '../cosmos/trainingCheckpoint.ts';
import { fileSink } from '../checkpoint/nodeFiles.ts';
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
  },
  async run(flags, ctx) {
    if (flags.steps === undefined) throw new UsageError('--steps is required');
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
    await ctx.gpu();
    const init = flags.init ? await loadForTraining(ctx, { checkpoint: flags.init }, options.seed, mode === 'cosmos') : null;
    if (init) ctx.progress(`${flags.init}: ${init.source.kind} ${init.source.architecture} (${init.source.dtype})`);
    const student = init?.student;
    const teacher = init?.teacher;
    const config = student?.config ?? PRESETS[(flags.preset ?? 'tiny') as PresetName];
    options.sourceSize = Math.max(options.sourceSize, config.vision.imageSize);
    let data: TrainingData;
    try {
      data = flags.data ? await userData(flags.data, options, ctx.progress) : sceneData(await loadSceneAtlasFromDisk(), options.seed, options.scenes);
    } catch (error) {
      student?.dispose();
      teacher?.dispose();
      throw error;
    }
    const run = new TrainingRun(config, options, data, tokenizer, student, teacher);
    try {
      const logEvery = flags['log-every'] ?? 1;
      const evalCount = flags['eval-count'] ?? HELD_OUT_COUNT;
      const started = performance.now();
      const evaluate = async () => {
        const record = await heldOutRecord(run.student, run.data, tokenizer, evalCount);
        return { step: run.step, seconds: round((performance.now() - started) / 1000, 4), ...rounded(record) };
      };
      const losses: number[] = [];
      for (let s = 0; s < options.steps; s++) {
        const record = await run.trainStep();
        losses.push(record.total);
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
          throw new Error(skippedStopMessage(record, flags.out ? `${flags.out} is not written (a file already there is kept)` : 'nothing is written'));
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
      if (flags.out) {
        const sink = await fileSink(flags.out);
        await writeTrainingCheckpoint(sink, {
          student: run.student,
          teacher: run.teacher,
          optimizer: run.trainer.optimizer,
          epoch: 1,
          name: `cosmos-web ${flags.init ? 'loaded' : (flags.preset ?? 'tiny')} ${mode}`,
          lr: options.lr,
        });
        ctx.progress(`wrote ${flags.out}`);
      }
    } finally {
      run.dispose();
    }
  },
});
