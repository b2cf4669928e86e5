/**
 * torch.optim.AdamW over named parameters, one GPU dispatch per parameter per step (ops/update.ts), which can
 * also move each parameter's EMA teacher in the same dispatch.
 * Like torch, each parameter keeps its own step count: a parameter without a gradient is skipped and its
 * bias corrections start when it first gets one.
 */
import { gpu } from '../engine.ts';
import { adamwHyperRow, adamwUpdate } from '../ops/update.ts';
import { type Tensor, zeros } from '../tensor.ts';

export interface NamedParameter {
  name: string;
  param: Tensor;
  /** Whether weight decay applies (see decayFor). */
  decay: boolean;
}

export interface AdamWOptions {
  lr: number;
  betas: readonly [number, number];
  eps: number;
  weightDecay: number;
}

/** The COSMOS CC3M recipe; the learning rate is normally set per step by the schedule. */
export const COSMOS_ADAMW: AdamWOptions = { lr: 5e-4, betas: [0.9, 0.98], eps: 1e-8, weightDecay: 0.5 };

/** One parameter's optimizer state, as torch.optim.AdamW keeps it ('step', 'exp_avg', 'exp_avg_sq'). */
export interface ParameterState {
  readonly name: string;
  /** Updates applied to this parameter; 0 means torch would hold no state for it yet. */
  readonly step: number;
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;
}

export interface AdamWState {
  /** Calls to `step()`. */
  readonly step: number;
  readonly params: readonly ParameterState[];
}

/** The EMA teachers of parameters (by parameter) and the momentum to move them by. */
export interface TeacherOf {
  targets: ReadonlyMap<Tensor, Tensor>;
  momentum: number;
}

interface Slot extends NamedParameter {
  step: number;
  /** zeroGrad dropped this parameter's gradient since the last step: it stands for zeros. */
  gradZeroed: boolean;
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;
}

/** The COSMOS rule: no weight decay for vectors and scalars, norms, biases and logit scales. */
export function decayFor(name: string, ndim: number): boolean {
  return !(ndim < 2 || ['bn', 'ln', 'bias', 'logit_scale'].some((part) => name.includes(part)));
}

export class AdamW {
  readonly options: AdamWOptions;
  private readonly slots: Slot[];
  /** Per-parameter step values ([slots, 4], see adamwHyperRow), rewritten once per step. */
  private readonly hyper: Tensor;
  private readonly hostHyper: Float32Array;
  private steps = 0;

  constructor(params: readonly NamedParameter[], options: Partial<AdamWOptions> = {}) {
    this.options = { ...COSMOS_ADAMW, ...options };
    const names = new Set<string>();
    const tensors = new Set<Tensor>();
    for (const { name, param } of params) {
      if (names.has(name)) throw new Error(`AdamW: parameter ${name} is listed twice`);
      if (tensors.has(param)) throw new Error(`AdamW: parameter ${name} is the same tensor as another one`);
      if (param.dtype !== 'f32') throw new Error(`AdamW: parameter ${name} is ${param.dtype}, not f32`);
      names.add(name);
      tensors.add(param);
    }
    // The moments are allocated once, for the whole run, and owned by the optimizer.
    this.slots = params.map((p) => ({
      ...p,
      step: 0,
      gradZeroed: false,
      expAvg: zeros(p.param.shape).keep(),
      expAvgSq: zeros(p.param.shape).keep(),
    }));
    this.hyper = zeros([Math.max(1, this.slots.length), 4]).keep();
    this.hostHyper = new Float32Array(this.hyper.size);
  }

  /**
   * Updates every parameter that has a gradient, with `lr` (the schedule's value) or the configured one, and
   * returns them. With `teacher`, each updated parameter that has a teacher first moves it by the EMA (see
   * adamwUpdate); moving the teachers of the parameters not updated is left to the caller.
   */
  step(lr = this.options.lr, teacher?: TeacherOf): Tensor[] {
    const { betas, eps, weightDecay } = this.options;
    const constants = { beta1: betas[0], beta2: betas[1], eps };
    for (const slot of this.slots) {
      if (slot.gradZeroed && !slot.param.grad) slot.param.grad = zeros(slot.param.shape).keep();
      slot.gradZeroed = false;
    }
    const updated = [...this.slots.entries()].filter(([, slot]) => slot.param.grad);
    for (const [row, slot] of updated) {
      slot.step++;
      this.hostHyper.set(adamwHyperRow(constants, { lr, weightDecay: slot.decay ? weightDecay : 0, step: slot.step }), row * 4);
    }
    gpu().write(this.hyper.range, this.hostHyper);
    for (const [row, slot] of updated) {
      const target = teacher?.targets.get(slot.param);
      const ema = target && teacher ? { target, momentum: teacher.momentum } : undefined;
      adamwUpdate(slot.param, slot.param.grad!, slot.expAvg, slot.expAvgSq, this.hyper, row, constants, ema);
    }
    this.steps++;
    return updated.map(([, slot]) => slot.param);
  }

  /** The gradients the next step() would apply, by parameter name. */
  gradients(): [string, Tensor][] {
    return this.slots.flatMap(({ name, param }) => (param.grad ? [[name, param.grad] as [string, Tensor]] : []));
  }

  /**
   * Zeroes the gradients as torch 1.13's zero_grad() does (set_to_none=False), without writing the zeros: each
   * gradient is dropped, so that the next backward hands its first gradient over instead of adding it to zeros
   * (src/tensor/tape.ts), and a parameter that then gets none is stepped with a zero gradient, as torch steps it.
   * The buffers go back to the pool and the next step's gradients take them: memory does not grow from step to step.
   */
  zeroGrad(): void {
    for (const slot of this.slots) {
      if (!slot.param.grad) continue;
      slot.param.grad.dispose();
      slot.param.grad = null;
      slot.gradZeroed = true;
    }
  }

  /** The live state tensors (not copies): read them, do not dispose them. */
  state(): AdamWState {
    return {
      step: this.steps,
      params: this.slots.map(({ name, step, expAvg, expAvgSq }) => ({ name, step, expAvg, expAvgSq })),
    };
  }

  /** Frees the moment estimates; the parameters and their gradients belong to the model. */
  dispose(): void {
    for (const slot of this.slots) {
      slot.expAvg.dispose();
      slot.expAvgSq.dispose();
    }
    this.hyper.dispose();
  }

  // ---- Resuming from a checkpoint (src/cosmos/trainingCheckpoint.ts writes the moments into state()) ----

  /**
   * Sets each parameter's update count, as torch's per-parameter 'step' (absent: 0, no state yet), so that the
   * next step() continues the bias corrections where the checkpoint left them. `state().step` becomes the largest.
   */
  restoreSteps(steps: ReadonlyMap<string, number>): void {
    const names = new Set(this.slots.map((s) => s.name));
    for (const [name, step] of steps) {
      if (!names.has(name)) throw new Error(`AdamW.restoreSteps: ${name} is not one of this optimizer's parameters`);
      if (!Number.isSafeInteger(step) || step < 0) throw new Error(`AdamW.restoreSteps: ${name} has step ${step}, not a count`);
    }
    for (const slot of this.slots) slot.step = steps.get(slot.name) ?? 0;
    this.steps = Math.max(0, ...this.slots.map((s) => s.step));
  }
}
