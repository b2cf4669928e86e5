/**
 * Shape and layout ops. Reshape is a view that shares storage, so it costs nothing on the GPU. Concat, slice
 * and transpose copy into a new contiguous tensor (shaders/layout.wgsl); each one's backward is another of them.
 * The copies move raw 32-bit words, so they work on f32 and i32 tensors alike.
 */
import source from '../../../shaders/layout.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { record } from '../tape.ts';
import { type Shape, Tensor, numel, shapeString, zeros } from '../tensor.ts';
import { blocks } from './workgroups.ts';

const LAYOUT = shader('layout.wgsl', source);
/** Elements one workgroup of the transpose kernel moves: 64 invocations of 4. */
const PER_WORKGROUP = 64 * 4;

export function reshape(x: Tensor, shape: Shape): Tensor {
  const out = new Tensor(shape, x.dtype, x);
  return record('reshape', [x], out, (g) => [reshape(g, x.shape)]);
}

/** x seen as a [rows, cols] matrix over its last axis, for the ops that work row by row. */
export function lastAxisRows(x: Tensor, op: string): { rows: number; cols: number } {
  const cols = x.shape.at(-1);
  if (cols === undefined) throw new Error(`${op}: needs a tensor with at least one axis, got a scalar`);
  return { rows: cols === 0 ? 0 : x.size / cols, cols };
}

/** Joins tensors along `axis`; all other axes and the dtype must match. */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  const first = tensors[0];
  if (!first) throw new Error('concat: no tensors to join');
  const a = checkAxis(axis, first.shape, 'concat');
  for (const t of tensors) {
    const fits = t.dtype === first.dtype && t.shape.length === first.shape.length;
    if (!fits || t.shape.some((d, i) => i !== a && d !== first.shape[i])) {
      const [got, want] = [`${t.dtype} ${shapeString(t.shape)}`, `${first.dtype} ${shapeString(first.shape)}`];
      throw new Error(`concat: cannot join ${got} to ${want} along axis ${a}`);
    }
  }
  const inputs = [...tensors];
  const sizes = inputs.map((t) => t.shape[a]!);
  const starts = sizes.map((_, i) => sizes.slice(0, i).reduce((s, d) => s + d, 0));
  const total = sizes.reduce((s, d) => s + d, 0);
  const out = new Tensor(withAxis(first.shape, a, total), first.dtype);
  const { outer, inner } = around(first.shape, a);
  inputs.forEach((t, i) => {
    const run = sizes[i]! * inner;
    copyRuns(t, { stride: run, offset: 0 }, out, { stride: total * inner, offset: starts[i]! * inner }, outer, run);
  });
  return record('concat', inputs, out, (g, needs) => inputs.map((_, i) => (needs[i] ? slice(g, a, starts[i]!, starts[i]! + sizes[i]!) : null)));
}

/** Elements start <= k < end along `axis` (0 <= start <= end <= the axis' size), as a new contiguous tensor. */
export function slice(x: Tensor, axis: number, start: number, end: number): Tensor {
  const a = checkAxis(axis, x.shape, 'slice');
  const dim = x.shape[a]!;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || start > end || end > dim) {
    throw new Error(`slice: range [${start}, ${end}) does not fit axis ${a} of ${shapeString(x.shape)}`);
  }
  const out = new Tensor(withAxis(x.shape, a, end - start), x.dtype);
  const { outer, inner } = around(x.shape, a);
  const run = (end - start) * inner;
  copyRuns(x, { stride: dim * inner, offset: start * inner }, out, { stride: run, offset: 0 }, outer, run);
  return record('slice', [x], out, (g) => [embed(g, x.shape, a, start)]);
}

/** Swaps the last two axes: [..., m, n] -> [..., n, m]. */
export function transpose(x: Tensor): Tensor {
  const rank = x.shape.length;
  if (rank < 2) throw new Error(`transpose: needs at least two axes, got ${shapeString(x.shape)}`);
  const [m, n] = [x.shape[rank - 2]!, x.shape[rank - 1]!];
  const batchShape = x.shape.slice(0, -2);
  const out = new Tensor([...batchShape, n, m], x.dtype);
  gpu().dispatch({
    kernel: { shader: LAYOUT, entry: 'transpose' },
    buffers: [x.range, out.range],
    params: params(numel(batchShape), m, n),
    workgroups: grid1d(Math.ceil(x.size / PER_WORKGROUP)),
  });
  return record('transpose', [x], out, (g) => [transpose(g)]);
}

/** zeros(shape) with g written at `start` along `axis`: the backward of slice, whose backward is a slice. */
function embed(g: Tensor, shape: Shape, axis: number, start: number): Tensor {
  const out = zeros(shape, g.dtype);
  const { outer, inner } = around(shape, axis);
  const length = g.shape[axis]!;
  const run = length * inner;
  copyRuns(g, { stride: run, offset: 0 }, out, { stride: shape[axis]! * inner, offset: start * inner }, outer, run);
  return record('embed', [g], out, (gg) => [slice(gg, axis, start, start + length)]);
}

/** Where runs start in a buffer: every `stride` elements, the first at `offset`. */
interface Strided {
  stride: number;
  offset: number;
}

/**
 * dst[to.offset + r * to.stride + c] = src[from.offset + r * from.stride + c] for r < rows, c < run; in vec4s
 * when every length, stride and offset is a multiple of 4. Runs that lie end to end on both sides (a concat or
 * slice along the first axis, stacked views) are one buffer copy: no kernel, no bind group.
 */
function copyRuns(src: Tensor, from: Strided, dst: Tensor, to: Strided, rows: number, run: number): void {
  if (rows * run === 0) return;
  if (rows === 1 || (from.stride === run && to.stride === run)) {
    gpu().copy(src.range, from.offset * 4, dst.range, to.offset * 4, rows * run * 4);
    return;
  }
  const unit = [run, from.stride, from.offset, to.stride, to.offset].every((n) => n % 4 === 0) ? 4 : 1;
  const { block, workgroups } = blocks((rows * run) / unit);
  gpu().dispatch({
    kernel: { shader: LAYOUT, entry: unit === 4 ? 'copy_runs4' : 'copy_runs' },
    buffers: [src.range, dst.range],
    params: params(rows, run / unit, from.stride / unit, from.offset / unit, to.stride / unit, to.offset / unit, block),
    workgroups,
  });
}

function checkAxis(axis: number, shape: Shape, op: string): number {
  const a = axis < 0 ? axis + shape.length : axis;
  if (!Number.isInteger(a) || a < 0 || a >= shape.length) {
    throw new Error(`${op}: axis ${axis} is out of range for ${shapeString(shape)}`);
  }
  return a;
}

/** The element counts before and after `axis`: a tensor seen as [outer, shape[axis], inner]. */
function around(shape: Shape, axis: number): { outer: number; inner: number } {
  return { outer: numel(shape.slice(0, axis)), inner: numel(shape.slice(axis + 1)) };
}

const withAxis = (shape: Shape, axis: number, size: number): number[] => shape.map((d, i) => (i === axis ? size : d));
