/**
 * A training run: each step takes a batch of image-caption pairs (the built-in scenes or the user's images), makes
 * the COSMOS views (images on the GPU, text crops on the host), and runs one CosmosTrainer step with the scheduled
 * learning rate. The same code runs in Node (CLI) and in the browser's worker; eval/heldOut.ts measures it.
 */
import type { ClipTokenizer } from '../data/tokenizer.ts';
import type { TrainingData } from '../data/dataset.ts';
import type { RgbImage } from '../data/image.ts';
import { rng } from '../data/random.ts';
import { renderViews } from '../tensor/ops/imageViews.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';
import type { CosmosConfig } from './config.ts';
import { CosmosModel } from './model.ts';
import { learningRate } from './schedule.ts';
import type { TrainingOptions } from './trainingOptions.ts';
import { CosmosTrainer, type StepLosses } from './trainer.ts';
import { planViews } from './views/augment.ts';
import { textCrops } from './views/textCrops.ts';

export interface StepRecord extends StepLosses {
  step: number;
  lr: number;
  /** exp(logit_scale) and exp(distill_logit_scale) of the student after the step. */
  temperature: number;
  distillTemperature: number;
  samplesPerSecond: number;
  stepMs: number;
}

/** RGB bytes to [3, H, W] floats in [0, 1], appended at `offset`. */
function writeChw(img: RgbImage, out: Float32Array, offset: number): void {
  const plane = img.width * img.height;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) out[offset + c * plane + p] = img.data[p * 3 + c]! / 255;
  }
}

export class TrainingRun {
  readonly trainer: CosmosTrainer;
  private stepIndex = 0;
  private readonly random: () => number;

  constructor(
    readonly config: CosmosConfig,
    readonly options: TrainingOptions,
    private trainingData: TrainingData,
    private readonly tokenizer: ClipTokenizer,
    readonly student: CosmosModel = new CosmosModel(config, options.seed),
    readonly teacher: CosmosModel | null = options.mode === 'cosmos' ? new CosmosModel(config, options.seed) : null,
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

  /** Continues a restored run at `step`: the schedule and the order of training examples go on from there. */
  continueAt(step: number): void {
    if (!Number.isInteger(step) || step < 0) throw new Error(`continueAt: ${step} is not a step number`);
    this.stepIndex = step;
  }

  async trainStep(): Promise<StepRecord> {
    const o = this.options;
    const started = performance.now();
    const lr = learningRate(this.stepIndex, o.lr, o.warmupSteps, o.steps);
    const examples = Array.from({ length: o.batchSize }, (_, b) => this.data.train(this.stepIndex * o.batchSize + b, o.sourceSize));
    const record = await scopeAsync(async () => {
      const pixels = new Float32Array(o.batchSize * 3 * o.sourceSize * o.sourceSize);
      for (const [b, { image }] of examples.entries()) writeChw(image, pixels, (b * pixels.length) / o.batchSize);
      const sources = fromArray(pixels, [o.batchSize, 3, o.sourceSize, o.sourceSize]);
      const plans = examples.map(() =>
        planViews(this.random, o.sourceSize, o.sourceSize, {
          globalSize: this.config.vision.imageSize,
          localSize: o.localSize,
          localCount: o.localCount,
        }),
      );
      const views = renderViews(sources, plans);
      const crops = examples.map(({ caption }) => textCrops(this.random, caption, o.localCount));
      const captions = crops[0]!.map((_, c) =>
        this.tokenizer.rowsFor(
          crops.map((perSample) => perSample[c]!),
          this.config.text,
        ),
      );
      const losses = await this.trainer.step({ globalImages: views.slice(0, 2), localImages: views.slice(2), captions }, { lr, momentum: o.momentum });
      const [logScale, distillLogScale] = await this.logScales();
      return { ...losses, step: this.stepIndex + 1, lr, temperature: Math.exp(logScale), distillTemperature: Math.exp(distillLogScale) };
    });
    this.stepIndex++;
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
    return [await read(this.student.logitScale), await read(this.student.distillLogitScale)];
  }
}
