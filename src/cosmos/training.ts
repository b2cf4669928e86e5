/**
 * A training run: each step takes a batch of image-caption pairs (the built-in scenes or the user's images), makes
 * the COSMOS views (images on the GPU, text crops on the host), and runs one CosmosTrainer step with the scheduled
 * learning rate. The same code runs in Node (CLI) and in the browser's worker; eval/heldOut.ts measures it.
 */
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { type TrainingData, textCropSource } from '../data/dataset.ts';
import type { RgbImage } from '../data/image.ts';
import { type Random, rng } from '../data/random.ts';
import { renderViews, type ViewPlan } from '../tensor/ops/imageViews.ts';
import { scope, scopeAsync } from '../tensor/scope.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';
import type { CosmosConfig } from './config.ts';
import { type CosmosModel, cosmosModel } from './model.ts';
import { learningRate } from './schedule.ts';
import type { TrainingOptions } from './trainingOptions.ts';
import type { ViewBatch } from './objective.ts';
import { CosmosTrainer, type StepLosses } from './trainer.ts';
import { VIEW_RECIPES, planViews } from './views/augment.ts';
import { type TextCropSource, cropsOf } from '../data/textCrops.ts';

export interface StepRecord extends StepLosses {
  step: number;
  lr: number;
  /** exp(logit_scale) and exp(distill_logit_scale) of the student after the step. */
  temperature: number;
  distillTemperature: number;
  samplesPerSecond: number;
  stepMs: number;
}

/** The random choices of a batch's views: per sample, its image views' plans and its text crops. */
export interface DrawnViews {
  plans: ViewPlan[][];
  texts: string[][];
}

/** A batch made ready for one step (TrainingRun.prepareBatch): its views on the GPU, its captions tokenized. */
export interface PreparedBatch {
  /** The step (0-based) it was drawn for. */
  step: number;
  examples: number[];
  drawn: DrawnViews;
  views: ViewBatch;
  /** Frees its view tensors. */
  dispose(): void;
}

/** The views one training step trained on, kept for the Views panel. */
export interface StepViews extends DrawnViews {
  /** The step (1-based, as StepRecord.step). */
  step: number;
  /** The training examples of the step, in batch order. */
  examples: number[];
}

/**
 * Draws the views of a batch whose captions are `captions` (each a caption or a caption list, textCropSource) by the
 * run's recipe (COSMOS-SPEC section 3): what a training step calls, and what the Views panel calls for a fresh draw.
 * Image plans first, then text crops, from `random`.
 */
export function drawViews(random: Random, captions: readonly TextCropSource[], config: CosmosConfig, o: TrainingOptions): DrawnViews {
  const counts = { globalSize: config.vision.imageSize, localSize: o.localSize, localCount: o.localCount };
  const plans = captions.map(() => planViews(random, o.sourceSize, o.sourceSize, counts, VIEW_RECIPES[o.views]));
  return { plans, texts: captions.map((caption) => cropsOf(random, caption, o.localCount)) };
}

/** RGB sources of one size as a [B, 3, H, W] tensor of floats in [0, 1], the input of renderViews. */
export function sourceTensor(images: readonly RgbImage[]): Tensor {
  const { width, height } = images[0]!;
  const plane = width * height;
  const pixels = new Float32Array(images.length * 3 * plane);
  for (const [b, img] of images.entries()) {
    for (let p = 0; p < plane; p++) for (let c = 0; c < 3; c++) pixels[(b * 3 + c) * plane + p] = img.data[p * 3 + c]! / 255;
  }
  return fromArray(pixels, [images.length, 3, height, width]);
}

/** Steps skipped in a row (NaN or infinity in the loss or a gradient) after which training stops. */
export const MAX_SKIPPED_IN_A_ROW = 5;

/** Why training stopped after MAX_SKIPPED_IN_A_ROW skipped steps, in one sentence ending in what to do. */
export function skippedStopMessage(record: StepRecord, saved: string): string {
  return `Training stopped: ${MAX_SKIPPED_IN_A_ROW} steps in a row (to step ${record.step}) were skipped because ${record.skipped}; ${saved}, and a lower learning rate or other data may train.`;
}

export class TrainingRun {
  readonly trainer: CosmosTrainer;
  private stepIndex = 0;
  private readonly random: Random;
  private lastViews: StepViews | null = null;
  private skippedRun = 0;

  constructor(
    readonly config: CosmosConfig,
    readonly options: TrainingOptions,
    private trainingData: TrainingData,
    private readonly tokenizer: ClipTokenizer,
    readonly student: CosmosModel = cosmosModel(config, options.seed),
    readonly teacher: CosmosModel | null = options.mode === 'cosmos' ? student.copy() : null,
  ) {
    this.random = rng(options.seed + 1);
    this.trainer = new CosmosTrainer(student, teacher, {
      mode: options.mode,
      weightDecay: options.weightDecay,
      freezeTowers: options.freezeTowers,
    });
  }

  /** What the steps train on and `evaluate` measures: the built-in scenes or the user's images. */
  get data(): TrainingData {
    return this.trainingData;
  }

  /** Trains on `data` from the next step on (fine-tuning a model on other images); held-out recall follows it. */
  switchData(data: TrainingData): void {
    this.trainingData = data;
  }

  get step(): number {
    return this.stepIndex;
  }

  /** Steps skipped one after another up to the last one (0 when the last step was taken). */
  get skippedInARow(): number {
    return this.skippedRun;
  }

  /** The views of the last step trained in this session (null before one, and after a restore). */
  get lastStepViews(): StepViews | null {
    return this.lastViews;
  }

  /** Continues a restored run at `step`: the schedule and the order of training examples go on from there. */
  continueAt(step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`continueAt: ${step} is not a step number`);
    this.stepIndex = step;
  }

  /**
   * One training step: the next batch's views made (prepareBatch), then the step on them (trainOn). Its stepMs and
   * samples per second count both, as a user waits for both.
   */
  async trainStep(): Promise<StepRecord> {
    const started = performance.now();
    const batch = this.prepareBatch();
    try {
      const record = await this.trainOn(batch);
      const stepMs = performance.now() - started;
      return { ...record, stepMs, samplesPerSecond: (this.options.batchSize * 1000) / stepMs };
    } finally {
      batch.dispose();
    }
  }

  /**
   * The next step's batch made ready: its examples drawn, its image views rendered on the GPU (queued, not waited
   * for) and its text crops tokenized. The caller disposes it after trainOn; bench:step times the two apart, as
   * PyTorch's step is timed on a batch already in memory.
   */
  prepareBatch(): PreparedBatch {
    const o = this.options;
    const indices = Array.from({ length: o.batchSize }, (_, b) => this.stepIndex * o.batchSize + b);
    const examples = indices.map((i) => this.data.train(i, o.sourceSize));
    const drawn = drawViews(this.random, examples.map(textCropSource), this.config, o);
    const views = scope(() => renderViews(sourceTensor(examples.map((e) => e.image)), drawn.plans));
    const captions = drawn.texts[0]!.map((_, c) =>
      this.tokenizer.rowsFor(
        drawn.texts.map((perSample) => perSample[c]!),
        this.config.text,
      ),
    );
    return {
      step: this.stepIndex,
      examples: indices,
      drawn,
      views: { globalImages: views.slice(0, 2), localImages: views.slice(2), captions },
      dispose: () => {
        for (const view of views) view.dispose();
      },
    };
  }

  /** The step on a batch prepareBatch made for it, with the scheduled learning rate; stepMs counts this part only. */
  async trainOn(batch: PreparedBatch): Promise<StepRecord> {
    if (batch.step !== this.stepIndex) throw new Error(`trainOn: the batch was prepared for step ${batch.step + 1}, not step ${this.stepIndex + 1}`);
    const o = this.options;
    const started = performance.now();
    const lr = learningRate(this.stepIndex, o.lr, o.warmupSteps, o.steps);
    const record = await scopeAsync(async () => {
      const losses = await this.trainer.step(batch.views, { lr, momentum: o.momentum });
      const [logScale, distillLogScale] = await this.logScales();
      return { ...losses, step: this.stepIndex + 1, lr, temperature: Math.exp(logScale), distillTemperature: Math.exp(distillLogScale) };
    });
    this.stepIndex++;
    this.skippedRun = record.skipped ? this.skippedRun + 1 : 0;
    this.lastViews = { step: this.stepIndex, examples: batch.examples, ...batch.drawn };
    const stepMs = performance.now() - started;
    return { ...record, stepMs, samplesPerSecond: (o.batchSize * 1000) / stepMs };
  }

  dispose(): void {
    this.trainer.dispose();
    this.student.dispose();
    this.teacher?.dispose();
  }

  private async logScales(): Promise<[number, number]> {
    const read = async (t: Tensor) => (await t.readFloat())[0]!;
    return [await read(this.student.logitScale), await read(this.student.cosmos.distillLogitScale)];
  }
}
