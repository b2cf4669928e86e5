/**
 * Elementwise ops (shaders/elementwise.wgsl): add, mul, affine and their row broadcasts, each with its
 * backward rule beside it.
 */
import source from '../../../shaders/elementwise.wgsl';
import { grid1d } from '../../gpu/runtime.ts';
import { shader } from '../../gpu/kernel.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, assertShape, shapeString } from '../tensor.ts';
import { sumAll, sumRows } from './reduce.ts';

const ELEMENTWISE = shader('elementwise.wgsl', source);
const PER_WORKGROUP = 64 * 4;

type Entry = 'add' | 'mul' | 'affine' | 'add_rows' | 'mul_rows' | 'scale_by' | 'accumulate';

function run(entry: Entry, buffers: GPUBuffer[], n: number, cols = 1, s = 1, t = 0): void {
  gpu().dispatch({
    kernel: { shader: ELEMENTWISE, entry },
    buffers,
    params: params(n, cols, f32(s), f32(t)),
    workgroups: grid1d(Math.ceil(n / PER_WORKGROUP)),
  });
}

function sameShape(a: Tensor, b: Tensor, op: string): void {
  if (a.size !== b.size || a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${op}: shapes ${shapeString(a.shape)} and ${shapeString(b.shape)} differ`);
  }
}

export function add(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'add');
  const out = new Tensor(a.shape);
  run('add', [a.buffer, b.buffer, out.buffer], a.size);
  return record('add', [a, b], out, (g) => [g, g]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const out = new Tensor(a.shape);
  run('mul', [a.buffer, b.buffer, out.buffer], a.size);
  return record('mul', [a, b], out, (g, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null]);
}

/** x * scale + shift */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  const out = new Tensor(x.shape);
  run('affine', [x.buffer, out.buffer], x.size, 1, scale, shift);
  return record('affine', [x], out, (g) => [affine(g, scale)]);
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s);

/** x * s with s a one-element tensor, differentiable in both (CLIP's exp(logit_scale) * similarities). */
export function scaleBy(x: Tensor, s: Tensor): Tensor {
  if (s.size !== 1) throw new Error(`scaleBy: the scale must have one element, got ${shapeString(s.shape)}`);
  const out = new Tensor(x.shape);
  run('scale_by', [x.buffer, s.buffer, out.buffer], x.size);
  return record('scaleBy', [x, s], out, (g, needs) => [needs[0] ? scaleBy(g, s) : null, needs[1] ? sumAll(mul(g, x)) : null]);
}

/** x[..., c] + row[c]: a bias over the last axis. */
export function addRows(x: Tensor, row: Tensor): Tensor {
  const cols = lastDim(x, row, 'addRows');
  const out = new Tensor(x.shape);
  run('add_rows', [x.buffer, row.buffer, out.buffer], x.size, cols);
  return record('addRows', [x, row], out, (g, needs) => [g, needs[1] ? sumRows(g, cols) : null]);
}

/** x[..., c] * row[c]: a gain over the last axis. */
export function mulRows(x: Tensor, row: Tensor): Tensor {
  const cols = lastDim(x, row, 'mulRows');
  const out = new Tensor(x.shape);
  run('mul_rows', [x.buffer, row.buffer, out.buffer], x.size, cols);
  return record('mulRows', [x, row], out, (g, needs) => [needs[0] ? mulRows(g, row) : null, needs[1] ? sumRows(mul(g, x), cols) : null]);
}

/** target += x * s, in place, outside the tape (gradient accumulation, optimizer-side updates). */
export function accumulateInto(target: Tensor, x: Tensor, s = 1): void {
  if (target.size !== x.size) {
    throw new Error(`accumulateInto: ${shapeString(x.shape)} into ${shapeString(target.shape)}`);
  }
  run('accumulate', [x.buffer, target.buffer], x.size, 1, s);
}

function lastDim(x: Tensor, row: Tensor, op: string): number {
  const cols = x.shape.at(-1) ?? 1;
  assertShape(row, [cols], `${op} row`);
  return cols;
}
