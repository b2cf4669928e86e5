/**
 * torch.optim.AdamW over named parameters, and the EMA teacher of each, in one GPU dispatch per step (per chunk of
 * the adapter's largest binding; ops/update.ts). The parameters, their gradients, both moments and the teachers live
 * in flat buffers of one layout (src/tensor/flat.ts): the optimizer moves the parameters and teachers there when it
 * is made, and backward() writes the parameters' gradients there (Tensor.gradSlot).
 * Like torch, each parameter keeps its own step count: a parameter without a gradient is skipped and its
 * bias corrections start when it first gets one.
 */
import { gpu } from '../engine.ts';
import { FlatBuffers, SLOT_BYTES, adapterLayout } from '../flat.ts';
import { adamwChunk, adamwHyperRow } from '../ops/update.ts';
import { Tensor, fromArray, zeros } from '../tensor.ts';

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

interface Slot extends NamedParameter {
  step: number;
  /** zeroGrad dropped this parameter's gradient since the last step: it stands for zeros. */
  gradZeroed: boolean;
  readonly expAvg: Tensor;
  readonly expAvgSq: Tensor;
  /** This parameter's slot of the flat gradients (also its `gradSlot`). */
  readonly gradView: Tensor;
}

/** The COSMOS rule: no weight decay for vectors and scalars, norms, biases and logit scales. */
export function decayFor(name: string, ndim: number): boolean {
  return !(ndim < 2 || ['bn', 'ln', 'bias', 'logit_scale'].some((part) => name.includes(part)));
}

/** A new kept view of a gradient slot, to be a parameter's `.grad` (which the parameter owns and may dispose). */
const sharing = (gradView: Tensor): Tensor => new Tensor(gradView.shape, 'f32', gradView).keep();

export class AdamW {
  readonly options: AdamWOptions;
  private readonly slots: Slot[];
  private readonly params: FlatBuffers;
  private readonly teachers: FlatBuffers | null;
  private readonly grads: FlatBuffers;
  private readonly expAvgs: FlatBuffers;
  private readonly expAvgSqs: FlatBuffers;
  /** Per chunk: the parameter (slot index) of each 256-byte slot of the chunk, as the kernel looks it up. */
  private readonly slotRows: Tensor[];
  /** Per-parameter step values ([slots, 4], see adamwHyperRow), rewritten once per step. */
  private readonly hyper: Tensor;
  private readonly hostHyper: Float32Array;
  private steps = 0;

  /**
   * `teacherOf`: the EMA teacher of every parameter (COSMOS training), moved toward its parameter by each step();
   * the teachers move into flat buffers too.
   */
  constructor(params: readonly NamedParameter[], options: Partial<AdamWOptions> = {}, teacherOf?: ReadonlyMap<Tensor, Tensor>) {
    this.options = { ...COSMOS_ADAMW, ...options };
    const names = new Set<string>();
    const tensors = new Set<Tensor>();
    for (const { name, param } of params) {
      if (names.has(name)) throw new Error(`AdamW: parameter ${name} is listed twice`);
      if (tensors.has(param)) throw new Error(`AdamW: parameter ${name} is the same tensor as another one`);
      if (param.dtype !== 'f32') throw new Error(`AdamW: parameter ${name} is ${param.dtype}, not f32`);
      const teacher = teacherOf?.get(param);
      if (teacherOf && (!teacher || teacher.size !== param.size)) throw new Error(`AdamW: parameter ${name} has no teacher of its size`);
      names.add(name);
      tensors.add(param);
    }
    // All state is allocated once, for the whole run, and owned by the optimizer.
    const layout = adapterLayout(params.map((p) => p.param.size));
    this.params = new FlatBuffers(layout);
    this.teachers = teacherOf ? new FlatBuffers(layout) : null;
    [this.grads, this.expAvgs, this.expAvgSqs] = [new FlatBuffers(layout), new FlatBuffers(layout), new FlatBuffers(layout)];
    this.slots = params.map((p, i) => {
      this.params.adopt(i, p.param);
      if (this.teachers) this.teachers.adopt(i, teacherOf!.get(p.param)!);
      const gradView = this.grads.view(i, p.param.shape);
      p.param.gradSlot = gradView;
      // A gradient the parameter already holds moves into its slot.
      if (p.param.grad) this.takeGradient(p.param, gradView);
      const [expAvg, expAvgSq] = [this.expAvgs.view(i, p.param.shape), this.expAvgSqs.view(i, p.param.shape)];
      return { ...p, step: 0, gradZeroed: false, expAvg, expAvgSq, gradView };
    });
    this.slotRows = layout.chunkBytes.map((bytes, c) => {
      const rows = new Int32Array(bytes / SLOT_BYTES);
      layout.slots.forEach((slot, i) => {
        if (slot.chunk !== c) return;
        const next = layout.slots[i + 1];
        rows.fill(i, slot.byteOffset / SLOT_BYTES, next?.chunk === c ? next.byteOffset / SLOT_BYTES : rows.length);
      });
      return fromArray(rows, [rows.length], 'i32').keep();
    });
    this.hyper = zeros([Math.max(1, this.slots.length), 4]).keep();
    this.hostHyper = new Float32Array(this.hyper.size);
  }

  /**
   * Updates every parameter that has a gradient, with `lr` (the schedule's value) or the configured one. With
   * `momentum`, every teacher first moves toward its parameter by the EMA (see adamwChunk), whether or not the
   * parameter steps; without, the teachers stay.
   */
  step(lr = this.options.lr, momentum?: number): void {
    const { betas, eps, weightDecay } = this.options;
    const constants = { beta1: betas[0], beta2: betas[1], eps };
    for (const [row, slot] of this.slots.entries()) {
      const { param } = slot;
      if (slot.gradZeroed && !param.grad) {
        gpu().fill0(slot.gradView.range, 0, param.byteSize);
        param.grad = sharing(slot.gradView);
      }
      slot.gradZeroed = false;
      if (param.grad && !param.grad.sameRange(slot.gradView)) this.takeGradient(param, slot.gradView);
      const values = param.grad ? adamwHyperRow(constants, { lr, weightDecay: slot.decay ? weightDecay : 0, step: ++slot.step }) : [0, 0, 0, 0];
      this.hostHyper.set(values, row * 4);
    }
    gpu().write(this.hyper.range, this.hostHyper);
    for (const [c, slotRows] of this.slotRows.entries()) {
      const chunk = { param: this.params.chunk(c), grad: this.grads.chunk(c), expAvg: this.expAvgs.chunk(c), expAvgSq: this.expAvgSqs.chunk(c) };
      const teacher = momentum === undefined ? undefined : this.teachers?.chunk(c);
      adamwChunk({ ...chunk, slotRows: slotRows.range, teacher }, this.hyper, constants, momentum);
    }
    this.steps++;
  }

  /**
   * Views of the flat gradient buffers whole (dispose them): one read covers every gradient. They also hold what no
   * step will read: zeroed padding, and the last gradient of a parameter that got none since zeroGrad().
   */
  gradientChunks(): Tensor[] {
    return this.grads.layout.chunkBytes.map((_, c) => this.grads.chunkView(c));
  }

  /** The gradients the next step() would apply, by parameter name. */
  gradients(): [string, Tensor][] {
    return this.slots.flatMap(({ name, param }) => (param.grad ? [[name, param.grad] as [string, Tensor]] : []));
  }

  /**
   * Zeroes the gradients as torch 1.13's zero_grad() does (set_to_none=False), without writing the zeros: each
   * gradient is dropped, so that the next backward hands its first gradient over instead of adding it to zeros
   * (src/tensor/tape.ts: copies it into the parameter's slot), and a parameter that then gets none is stepped with
   * a zero gradient, as torch steps it. The slots stay: memory does not grow from step to step.
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

  /**
   * Frees the gradients' slots, the moment estimates and the optimizer's share of the flat buffers; the
   * parameters and teachers stay where they are, and belong to their models.
   */
  dispose(): void {
    for (const slot of this.slots) {
      slot.expAvg.dispose();
      slot.expAvgSq.dispose();
      slot.gradView.dispose();
      if (slot.param.gradSlot === slot.gradView) slot.param.gradSlot = null;
    }
    for (const buffers of [this.params, this.teachers, this.grads, this.expAvgs, this.expAvgSqs]) buffers?.dispose();
    for (const t of [...this.slotRows, this.hyper]) t.dispose();
  }

  /** Copies a gradient given to the parameter some other way (a test, a fault injection) into its slot. */
  private takeGradient(param: Tensor, gradView: Tensor): void {
    gpu().copy(param.grad!.range, 0, gradView.range, 0, param.byteSize);
    param.grad!.dispose();
    param.grad = sharing(gradView);
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
