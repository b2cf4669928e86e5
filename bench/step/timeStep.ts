/**
 * Times training steps as the app runs them, on the built-in scenes with the case's options (caseOptions), in two
 * parts as PyTorch's side is timed on a batch already in memory: making the batch (TrainingRun.prepareBatch: scenes
 * drawn, views rendered on the GPU and waited for, text crops tokenized), then the step on it (trainOn: forward,
 * backward, EMA, AdamW, ended by reading the losses and logit scales back). Each step also counts its dispatches,
 * submits and FLOPs (src/tensor/flops.ts); views are not in them.
 */
import { PRESETS } from '../../src/cosmos/presets.ts';
import { TrainingRun } from '../../src/cosmos/training.ts';
import { sceneData } from '../../src/data/dataset.ts';
import type { SceneAtlas } from '../../src/data/scenes.ts';
import type { ClipTokenizer } from '../../src/data/tokenizer.ts';
import { gpu } from '../../src/tensor/engine.ts';
import { countFlops } from '../../src/tensor/flops.ts';
import { median } from '../measure.ts';
import { type StepCase, caseOptions } from './cases.ts';

export interface StepData {
  atlas: SceneAtlas;
  tokenizer: ClipTokenizer;
}

export interface StepTiming {
  medianMs: number;
  minMs: number;
  maxMs: number;
  /** Median time making a step's batch, not in the step times. */
  dataMs: number;
  /** Medians over the timed steps: a step's text crops vary in length, so its products' sizes do too. */
  dispatches: number;
  submits: number;
  flops: number;
}

export async function timeTrainingStep(c: StepCase, data: StepData, log: (line: string) => void): Promise<StepTiming> {
  const options = caseOptions(c);
  const run = new TrainingRun(PRESETS[c.preset], options, sceneData(data.atlas, options.seed), data.tokenizer);
  try {
    for (let i = 0; i < c.warmup; i++) {
      const { stepMs } = await run.trainStep();
      log(`  warm-up step ${i + 1}/${c.warmup}: ${stepMs.toFixed(0)} ms`);
    }
    const times: number[] = [];
    const dataTimes: number[] = [];
    const dispatches: number[] = [];
    const submits: number[] = [];
    const flops: number[] = [];
    for (let i = 0; i < c.reps; i++) {
      const prepareStarted = performance.now();
      const batch = run.prepareBatch();
      await gpu().sync();
      dataTimes.push(performance.now() - prepareStarted);
      try {
        const before = gpu().commands();
        const started = performance.now();
        const counted = await countFlops(() => run.trainOn(batch));
        times.push(performance.now() - started);
        const after = gpu().commands();
        dispatches.push(after.dispatches - before.dispatches);
        submits.push(after.submits - before.submits);
        flops.push(counted.flops);
      } finally {
        batch.dispose();
      }
      log(
        `  step ${i + 1}/${c.reps}: ${times.at(-1)!.toFixed(0)} ms (+ ${dataTimes.at(-1)!.toFixed(0)} ms making the batch), ${dispatches.at(-1)} dispatches, ${submits.at(-1)} submits`,
      );
    }
    return {
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      dataMs: median(dataTimes),
      dispatches: median(dispatches),
      submits: median(submits),
      flops: median(flops),
    };
  } finally {
    run.dispose();
    gpu().trim(); // the next case starts from an empty pool: a ViT-B/32 run's buffers are gigabytes
  }
}
