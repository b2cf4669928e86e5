/**
 * Elementwise ops (shaders/elementwise.wgsl): add, mul, affine and their row broadcasts, each with its
 * backward rule beside it.
 */
import source from '../../../shaders/elementwise.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, assertShape, shapeString } from '../tensor.ts';
import { sumAll, sumRows } from './reduce.ts';
import { flatSpans } from './workgroups.ts';

const ELEMENTWISE = shader('elementwise.wgsl', source);

type Entry = 'add' | 'mul' | 'affine' | 'add_rows' | 'mul_rows' | 'scale_by' | 'accumulate';

/** out = op(a, b) over out's elements; ops with one input pass it as b too (see elementwise.wgsl). */
function run(entry: Entry, a: Tensor, b: Tensor, out: Tensor, cols = 1, s = 1, t = 0): void {
  const { count, block, workgroups } = flatSpans(
    out.size,
    [a, b, out].filter((t) => t.size === out.size),
  );
  gpu().dispatch({
    kernel: { shader: ELEMENTWISE, entry },
    buffers: [a.range, b.range, out.range],
    params: params(count, block, cols, f32(s), f32(t)),
    workgroups,
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
  run('add', a, b, out);
  return record('add', [a, b], out, (g) => [g, g]);
}

export function mul(a: Tensor, b: Tensor): Tensor {
  sameShape(a, b, 'mul');
  const out = new Tensor(a.shape);
  run('mul', a, b, out);
  return record('mul', [a, b], out, (g, needs) => [needs[0] ? mul(g, b) : null, needs[1] ? mul(g, a) : null]);
}

/** x * scale + shift */
export function affine(x: Tensor, scale: number, shift = 0): Tensor {
  const out = new Tensor(x.shape);
  run('affine', x, x, out, 1, scale, shift);
  return record('affine', [x], out, (g) => [affine(g, scale)]);
}

export const scale = (x: Tensor, s: number): Tensor => affine(x, s);

/** x * s with s a one-element tensor, differentiable in both (CLIP's exp(logit_scale) * similarities). */
export function scaleBy(x: Tensor, s: Tensor): Tensor {
  if (s.size !== 1) throw new Error(`scaleBy: the scale must have one element, got ${shapeString(s.shape)}`);
  const out = new Tensor(x.shape);
  run('scale_by', x, s, out);
  return record('scaleBy', [x, s], out, (g, needs) => [needs[0] ? scaleBy(g, s) : null, needs[1] ? sumAll(mul(g, x)) : null]);
}

/** x[..., c] + row[c]: a bias over the last axis. */
export function addRows(x: Tensor, row: Tensor): Tensor {
  const cols = lastDim(x, row, 'addRows');
  const out = new Tensor(x.shape);
  run('add_rows', x, row, out, cols);
  return record('addRows', [x, row], out, (g, needs) => [g, needs[1] ? sumRows(g, cols) : null]);
}

/** x[..., c] * row[c]: a gain over the last axis. */
export function mulRows(x: Tensor, row: Tensor): Tensor {
  const cols = lastDim(x, row, 'mulRows');
  const out = new Tensor(x.shape);
  run('mul_rows', x, row, out, cols);
  return record('mulRows', [x, row], out, (g, needs) => [needs[0] ? mulRows(g, row) : null, needs[1] ? sumRows(mul(g, x), cols) : null]);
}

/** target += x * s, in place, outside the tape (gradient accumulation, optimizer-side updates). */
export function accumulateInto(target: Tensor, x: Tensor, s = 1): void {
  if (target.size !== x.size) {
    throw new Error(`accumulateInto: ${shapeString(x.shape)} into ${shapeString(target.shape)}`);
  }
  run('accumulate', x, x, target, 1, s);
}

function lastDim(x: Tensor, row: Tensor, op: string): number {
  const cols = x.shape.at(-1) ?? 1;
  assertShape(row, [cols], `${op} row`);
  return cols;
}
