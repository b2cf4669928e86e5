/**
 * Times whole training steps as the app runs them: TrainingRun.trainStep (views rendered on the GPU, text crops on
 * the host, the CosmosTrainer step, ended by reading the losses and logit scales back) on the built-in scenes, with
 * the case's options (caseOptions). Each timed step also counts its dispatches, submits and FLOPs (src/tensor/flops.ts).
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
    const dispatches: number[] = [];
    const submits: number[] = [];
    const flops: number[] = [];
    for (let i = 0; i < c.reps; i++) {
      const before = gpu().commands();
      const started = performance.now();
      const counted = await countFlops(() => run.trainStep());
      times.push(performance.now() - started);
      const after = gpu().commands();
      dispatches.push(after.dispatches - before.dispatches);
      submits.push(after.submits - before.submits);
      flops.push(counted.flops);
      log(`  step ${i + 1}/${c.reps}: ${times.at(-1)!.toFixed(0)} ms, ${dispatches.at(-1)} dispatches, ${submits.at(-1)} submits`);
    }
    return {
      medianMs: median(times),
      minMs: Math.min(...times),
      maxMs: Math.max(...times),
      dispatches: median(dispatches),
      submits: median(submits),
      flops: median(flops),
    };
  } finally {
    run.dispose();
    gpu().trim(); // the next case starts from an empty pool: a ViT-B/32 run's buffers are gigabytes
  }
}
