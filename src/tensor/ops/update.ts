/**
 * In-place updates outside the tape (shaders/update.wgsl): AdamW over a chunk of the optimizer's flat buffers (with
 * or without the teacher EMA in the same pass), the teacher EMA and clamp of single tensors. One dispatch each;
 * nothing is recorded, so they are safe on parameters that require grad.
 */
import source from '../../../shaders/update.wgsl';
import { shader } from '../../gpu/kernel.ts';
import type { BufferRange } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { SLOT_BYTES } from '../flat.ts';
import { f32, params } from '../params.ts';
import { Tensor, shapeString } from '../tensor.ts';
import { blocks, cpuStyleKernels, flatSpans } from './workgroups.ts';

const UPDATE = shader('update.wgsl', source);

type Entry = 'adamw' | 'adamw_slots' | 'ema' | 'clamp_in_place';

/** Runs `entry` over `count` vec4s of `buffers` with the uniform block (vec4 count, block size, ...fields). */
function run(entry: Entry, count: number, buffers: BufferRange[], fields: Parameters<typeof params>, constants?: Record<string, number>): void {
  const { block, workgroups } = blocks(count);
  gpu().dispatch({ kernel: { shader: UPDATE, entry, constants }, buffers, params: params(count, block, ...fields), workgroups });
}

/** Runs a single-tensor entry over the elements of `tensors` (all of one size). */
function runOnTensors(entry: Entry, tensors: Tensor[], fields: Parameters<typeof params>): void {
  const { count } = flatSpans(tensors[0]!.size, tensors);
  run(
    entry,
    count,
    tensors.map((t) => t.range),
    fields,
  );
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
 * The per-step row of `hyper` for one parameter that steps: (1 - lr * wd, sqrt(bc2), -lr / bc1, 1) with the bias
 * corrections bc = 1 - beta^step computed in float64, as torch does. A parameter that does not step has a row of 0s.
 */
export function adamwHyperRow(c: AdamwConstants, h: AdamwStepValues): [number, number, number, number] {
  if (!Number.isInteger(h.step) || h.step < 1) throw new Error(`adamw: step must be a positive integer, got ${h.step}`);
  return [1 - h.lr * h.weightDecay, Math.sqrt(1 - c.beta2 ** h.step), -h.lr / (1 - c.beta1 ** h.step), 1];
}

/** One chunk of the optimizer's flat buffers (src/tensor/flat.ts), all in the same layout. */
export interface AdamwChunk {
  param: BufferRange;
  grad: BufferRange;
  expAvg: BufferRange;
  expAvgSq: BufferRange;
  /** One u32 per 256-byte slot: the row of `hyper` of the parameter that slot belongs to. */
  slotRows: BufferRange;
  /** The EMA teachers of the parameters, moved toward them before the step; absent in CLIP training. */
  teacher?: BufferRange;
}

/**
 * One torch.optim.AdamW step (torch 1.13, single-tensor, non-amsgrad) of every parameter in `chunk`, updating the
 * moment estimates in place. Each parameter's step-dependent values come from its row of `hyper` ([rows, 4], see
 * adamwHyperRow), which the caller writes once per step. With a teacher, every teacher parameter of the chunk first
 * moves toward its parameter as emaUpdate moves it, in the same dispatch: the COSMOS order (EMA, then AdamW).
 */
export function adamwChunk(chunk: AdamwChunk, hyper: Tensor, c: AdamwConstants, momentum?: number): void {
  const { param, grad, expAvg, expAvgSq, slotRows, teacher } = chunk;
  const ranges = [grad, expAvg, expAvgSq, ...(teacher ? [teacher] : [])];
  if (param.size % SLOT_BYTES !== 0 || ranges.some((r) => r.size !== param.size)) {
    throw new Error(`adamwChunk: ranges of ${[param, ...ranges].map((r) => r.size).join(', ')} bytes: all must be one whole number of slots`);
  }
  if (slotRows.size < (param.size / SLOT_BYTES) * 4) throw new Error(`adamwChunk: ${slotRows.size} bytes of slot rows for ${param.size / SLOT_BYTES} slots`);
  if (hyper.shape.length !== 2 || hyper.shape[1] !== 4) throw new Error(`adamwChunk: hyper is ${shapeString(hyper.shape)}, not [rows, 4]`);
  if (teacher && momentum === undefined) throw new Error('adamwChunk: a teacher needs the EMA momentum');
  const constants = [f32(c.beta1), f32(1 - c.beta1), f32(c.beta2), f32(1 - c.beta2), f32(c.eps)];
  // Without a teacher the EMA fields are unused (momentum 1 would leave one unchanged), and a small buffer of its
  // own stands in for it: the binding is declared either way, and must not alias a written one.
  const standIn = teacher ? null : new Tensor([4]);
  const ema = teacher ? [f32(momentum!), f32(1 - momentum!)] : [f32(1), f32(0)];
  const bound = [param, grad, expAvg, expAvgSq, hyper.range, slotRows, teacher ?? standIn!.range];
  run(cpuStyleKernels() ? 'adamw_slots' : 'adamw', param.size / 16, bound, [...constants, ...ema], { EMA: Number(!!teacher) });
  standIn?.dispose();
}

/** target = momentum * target + (1 - momentum) * source, in place (the COSMOS teacher update). */
export function emaUpdate(target: Tensor, source: Tensor, momentum: number): void {
  sameSize('emaUpdate', target, source);
  runOnTensors('ema', [target, source], [f32(momentum), f32(1 - momentum)]);
}

/** x = min(max(x, min), max), in place (the logit scales after each optimizer step). */
export function clampInPlace(x: Tensor, min: number, max: number): void {
  sameSize('clampInPlace', x);
  if (!(min <= max)) throw new Error(`clampInPlace: min ${min} is above max ${max}`);
  runOnTensors('clamp_in_place', [x], [f32(min), f32(max)]);
}
