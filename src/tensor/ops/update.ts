/**
 * In-place updates outside the tape (shaders/update.wgsl): the AdamW step of one parameter (with or without its
 * teacher's EMA in the same pass), the teacher EMA and clamp. One dispatch each; nothing is recorded, so they are
 * safe on parameters that require grad.
 */
import type { BufferRange } from '../../gpu/runtime.ts';
import source from '../../../shaders/update.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { type Tensor, shapeString } from '../tensor.ts';
import { flatSpans } from './workgroups.ts';

const UPDATE = shader('update.wgsl', source);

type Entry = 'adamw' | 'adamw_ema' | 'ema' | 'clamp_in_place';

/**
 * Runs `entry` over the elements of `tensors` (all of one size; `extra` buffers are bound after them, and the
 * `extra` tensors after those) with the uniform block (vec4 count, block size, ...fields).
 */
function run(entry: Entry, tensors: Tensor[], fields: Parameters<typeof params>, extra: BufferRange[] = [], extraTensors: Tensor[] = []): void {
  const { count, block, workgroups } = flatSpans(tensors[0]!.size, [...tensors, ...extraTensors]);
  gpu().dispatch({
    kernel: { shader: UPDATE, entry },
    buffers: [...tensors.map((t) => t.range), ...extra, ...extraTensors.map((t) => t.range)],
    params: params(count, block, ...fields),
    workgroups,
  });
}

function sameSize(op: string, target: Tensor, ...others: Tensor[]): void {
  for (const t of [target, ...others]) {
    if (t.dtype !== 'f32') throw new Error(`${op}: ${t.toString()} is not f32`);
    if (t.size !== target.size) throw new Error(`${op}: ${shapeString(t.shape)} does not match ${shapeString(target.shape)}`);
  }
}

export interface AdamwConstants {
  beta1: number;
  beta2: number;
  eps: number;
}

export interface AdamwStepValues {
  lr: number;
  /** 0 for parameters in the no-decay group. */
  weightDecay: number;
  /** This parameter's step count, including the step being taken (1 on the first). */
  step: number;
}

/**
 * The per-step row of `hyper` for one parameter: (1 - lr * wd, sqrt(bc2), -lr / bc1, 0) with the bias
 * corrections bc = 1 - beta^step computed in float64, as torch does.
 */
export function adamwHyperRow(c: AdamwConstants, h: AdamwStepValues): [number, number, number, number] {
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`adamw: step must be a positive integer, got ${h.step}`);
  return [1 - h.lr * h.weightDecay, Math.sqrt(1 - c.beta2 ** h.step), -h.lr / (1 - c.beta1 ** h.step), 0];
}

/** A teacher parameter moved toward its student parameter: target = momentum * target + (1 - momentum) * param. */
export interface TeacherEma {
  target: Tensor;
  momentum: number;
}

/**
 * One torch.optim.AdamW step (torch 1.13, single-tensor, non-amsgrad) on `param`, updating the moment estimates
 * `expAvg` and `expAvgSq` in place. The step-dependent values come from row `row` of `hyper` ([rows, 4], see
 * adamwHyperRow), which the caller writes once per step for every parameter. With `ema`, the teacher parameter
 * first moves toward `param` as emaUpdate moves it, in the same dispatch: the COSMOS order (EMA, then AdamW).
 */
export function adamwUpdate(
  param: Tensor,
  grad: Tensor,
  expAvg: Tensor,
  expAvgSq: Tensor,
  hyper: Tensor,
  row: number,
  c: AdamwConstants,
  ema?: TeacherEma,
): void {
  sameSize('adamwUpdate', param, grad, expAvg, expAvgSq, ...(ema ? [ema.target] : []));
  if (hyper.shape.length !== 2 || hyper.shape[1] !== 4 || row >= hyper.shape[0]!) {
    throw new Error(`adamwUpdate: row ${row} of hyper ${shapeString(hyper.shape)} (expected [rows, 4])`);
  }
  const constants = [row, f32(c.beta1), f32(1 - c.beta1), f32(c.beta2), f32(1 - c.beta2), f32(c.eps)];
  const moments = [param, grad, expAvg, expAvgSq];
  if (ema?.target === param) throw new Error('adamwUpdate: the EMA target is the parameter itself');
  if (ema) run('adamw_ema', moments, [...constants, f32(ema.momentum), f32(1 - ema.momentum)], [hyper.range], [ema.target]);
  // Without a teacher the EMA fields are unused: momentum 1 would leave one unchanged.
  else run('adamw', moments, [...constants, f32(1), f32(0)], [hyper.range]);
}

/** target = momentum * target + (1 - momentum) * source, in place (the COSMOS teacher update). */
export function emaUpdate(target: Tensor, source: Tensor, momentum: number): void {
  sameSize('emaUpdate', target, source);
  run('ema', [target, source], [f32(momentum), f32(1 - momentum)]);
}

/** x = min(max(x, min), max), in place (the logit scales after each optimizer step). */
export function clampInPlace(x: Tensor, min: number, max: number): void {
  sameSize('clampInPlace', x);
  if (!(min <= max)) throw new Error(`clampInPlace: min ${min} is above max ${max}`);
  run('clamp_in_place', [x], [f32(min), f32(max)]);
}
