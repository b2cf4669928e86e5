/**
 * One COSMOS training step (COSMOS-SPEC sections 4-6): objective -> backward -> teacher EMA toward the student
 * (after backward, before the optimizer step, over every parameter) -> AdamW -> both logit scales of both models
 * clamped to [0, ln 100]. Every intermediate lives in the step's scope: memory is the same after every step.
 * A step whose loss or any gradient holds NaN or infinity, or whose learning rate or momentum is not a finite
 * number, is skipped after backward: no parameter, optimizer moment, step count or teacher weight changes.
 */
import { noGrad } from '../tensor/engine.ts';
import { nonFiniteCounts } from '../tensor/ops/finite.ts';
import { clampInPlace, emaUpdate } from '../tensor/ops/update.ts';
import { concat, reshape } from '../tensor/ops/shape.ts';
import { AdamW, decayFor } from '../tensor/optim/adamw.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { backward } from '../tensor/tape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { type CosmosModel, isCosmosPart } from './model.ts';
import { lossTerms, type TrainMode, type ViewBatch } from './objective.ts';

export const MAX_LOG_SCALE = Math.log(100);

export interface StepSettings {
  lr: number;
  /** Teacher EMA momentum m: teacher = m * teacher + (1 - m) * student. */
  momentum: number;
}

export interface StepLosses {
  clip: number;
  /** NaN in CLIP mode. */
  cosmos: number;
  total: number;
  /** Why the step changed nothing (a sentence naming what was not finite); null for a step taken. */
  skipped: string | null;
}

export interface TrainerOptions {
  mode: TrainMode;
  weightDecay?: number;
  betas?: readonly [number, number];
  eps?: number;
  /** Fine-tuning: train only the cross-attention poolers, the token mappings and the projections. */
  freezeTowers?: boolean;
}

/**
 * What stays trainable when the towers are frozen: COSMOS's parts (the two cross-attention poolers, the token
 * mappings, distill_logit_scale), the projections and logit_scale. Exact names: the towers' own attention has
 * `in_proj` and `out_proj` too.
 */
const fineTuned = (name: string): boolean => isCosmosPart(name) || /^(visual\.proj|text_projection|logit_scale)$/.test(name);

/** Drops undefined entries, so that they leave the optimizer's defaults in place. */
function definedOnly<T extends object>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export class CosmosTrainer {
  readonly optimizer: AdamW;
  /** The teachers of the parameters the optimizer does not move (frozen ones), by parameter; empty in CLIP mode. */
  private readonly frozenTeacherOf: ReadonlyMap<Tensor, Tensor>;

  constructor(
    readonly student: CosmosModel,
    /** The EMA teacher: never trained by gradients. null in CLIP mode. */
    readonly teacher: CosmosModel | null,
    readonly options: TrainerOptions,
  ) {
    if (options.mode === 'cosmos' && !teacher) throw new Error('COSMOS training needs a teacher model');
    const teacherParams = teacher?.parameters();
    const teacherOf = teacherParams ? new Map(student.parameters().map((p, i) => [p, teacherParams[i]!])) : undefined;
    for (const t of teacherParams ?? []) t.requiresGrad = false;
    const named = student.namedParameters();
    for (const [name, p] of named) p.requiresGrad = !options.freezeTowers || fineTuned(name);
    const trained = named.filter(([, p]) => p.requiresGrad);
    this.optimizer = new AdamW(
      trained.map(([name, param]) => ({ name, param, decay: decayFor(name, param.shape.length) })),
      definedOnly({ weightDecay: options.weightDecay, betas: options.betas, eps: options.eps }),
      teacherOf && new Map(trained.map(([, p]) => [p, teacherOf.get(p)!])),
    );
    this.frozenTeacherOf = new Map([...(teacherOf ?? [])].filter(([p]) => !p.requiresGrad));
  }

  async step(batch: ViewBatch, settings: StepSettings): Promise<StepLosses> {
    return scopeAsync(async () => {
      this.optimizer.zeroGrad();
      const terms = lossTerms(this.student, this.teacher, batch, this.options.mode);
      backward(terms.total);
      const losses = noGrad(() =>
        concat(
          [terms.clip, terms.cosmos ?? terms.clip, terms.total].map((t) => reshape(t, [1])),
          0,
        ),
      );
      const skipped = await this.fault(terms.total, settings);
      const [clip, cosmos, total] = await losses.readFloat();
      const read = { clip: clip!, cosmos: terms.cosmos ? cosmos! : Number.NaN, total: total!, skipped };
      if (skipped) return read;
      // The teacher moves toward the student before the optimizer step: in the optimizer's own dispatch for every
      // parameter it holds, on its own for the rest (frozen ones).
      this.optimizer.step(settings.lr, this.teacher ? settings.momentum : undefined);
      for (const [p, target] of this.frozenTeacherOf) emaUpdate(target, p, settings.momentum);
      for (const model of [this.student, this.teacher]) {
        if (!model) continue;
        clampInPlace(model.logitScale, 0, MAX_LOG_SCALE);
        clampInPlace(model.cosmos.distillLogitScale, 0, MAX_LOG_SCALE);
      }
      return read;
    });
  }

  /** What makes this step unusable, as a sentence, or null: checked on the GPU, one read for the loss and all gradients. */
  private async fault(loss: Tensor, { lr, momentum }: StepSettings): Promise<string | null> {
    if (!Number.isFinite(lr)) return `the learning rate is ${lr}`;
    if (!Number.isFinite(momentum)) return `the teacher momentum is ${momentum}`;
    // First the loss and the flat gradient buffers whole, in one dispatch; only if something there is not finite,
    // parameter by parameter, to name them and to leave out stale slots of parameters without a gradient.
    const chunks = this.optimizer.gradientChunks();
    const whole = await nonFiniteCounts([loss, ...chunks]).read();
    for (const chunk of chunks) chunk.dispose();
    if (whole[0]) return 'the loss is NaN or infinite';
    if (!whole.some(Boolean)) return null;
    const named = this.optimizer.gradients();
    const counts = await nonFiniteCounts(named.map(([, g]) => g)).read();
    const bad = named.flatMap(([name], i) => (counts[i] ? [`${name} (${counts[i]})`] : []));
    if (!bad.length) return null;
    const listed = bad.length > 4 ? `${bad.slice(0, 4).join(', ')} and ${bad.length - 4} more` : bad.join(', ');
    return `the gradients of ${bad.length} parameter${bad.length === 1 ? '' : 's'} hold NaN or infinite values: ${listed}`;
  }

  dispose(): void {
    this.optimizer.dispose();
  }
}
