/** Sum and mean over one axis (shaders/reduce.wgsl); backward broadcasts the gradient back over the axis. */
import source from '../../../shaders/reduce.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { type Shape, Tensor, numel, shapeString } from '../tensor.ts';
import { cpuStyleKernels } from './workgroups.ts';

const REDUCE = shader('reduce.wgsl', source);
const WG = 64;
/**
 * On a GPU, an axis longer than this is summed in passes of partial sums, GPU_CHUNK elements per invocation: with
 * one invocation per output, a bias gradient (4928 rows, 64 columns) ran as 64 threads walking 4928 rows each.
 * A CPU adapter sums in one pass: there the passes were no faster (measured on [4928, 64] and [4928, 192], equal
 * or up to 2x slower for [2080, 64] and [544, 128]), a single workgroup's loop being cheap next to a dispatch.
 */
const MAX_SINGLE_PASS = 256;
const GPU_CHUNK = 64;

/** The chunk length of a pass over `axis`; the axis itself when one pass will do. */
function chunkFor(axis: number): number {
  return axis <= MAX_SINGLE_PASS || cpuStyleKernels() ? Math.max(axis, 1) : GPU_CHUNK;
}

interface AxisView {
  outer: number;
  axis: number;
  inner: number;
}

function view(shape: Shape, axis: number): AxisView {
  const a = axis < 0 ? shape.length + axis : axis;
  if (a < 0 || a >= shape.length) throw new Error(`reduce: axis ${axis} out of range for ${shapeString(shape)}`);
  return { outer: numel(shape.slice(0, a)), axis: shape[a]!, inner: numel(shape.slice(a + 1)) };
}

/** scale * the sum of x over v's axis (+ addend, of the output's shape, which the last pass adds as it stores). */
function reduceAxis(x: Tensor, v: AxisView, outShape: Shape, scale: number, addend?: Tensor | null): Tensor {
  if (addend && addend.size !== numel(outShape)) {
    throw new Error(`reduce: an addend ${shapeString(addend.shape)} for a sum of shape ${shapeString(outShape)}`);
  }
  let src = x;
  let axis = v.axis;
  let chunk = chunkFor(axis);
  while (chunk < axis) {
    const chunks = Math.ceil(axis / chunk);
    const partial = new Tensor([v.outer, chunks, v.inner]);
    sumChunks(src, partial, { ...v, axis }, chunk, 1);
    if (src !== x) src.dispose();
    [src, axis, chunk] = [partial, chunks, chunkFor(chunks)];
  }
  const out = new Tensor(outShape);
  sumChunks(src, out, { ...v, axis }, chunk, scale, addend);
  if (src !== x) src.dispose();
  return record('sumAxis', [x], out, (g) => [broadcastAxis(g, v, x.shape, scale)]);
}

/**
 * out [outer, ceil(axis / chunk), inner] = scale * the sums of x [outer, axis, inner] over chunks of the axis
 * (+ addend), four outputs per invocation when inner is a multiple of 4.
 */
function sumChunks(x: Tensor, out: Tensor, v: AxisView, chunk: number, scale: number, addend?: Tensor | null): void {
  const unit = v.inner % 4 === 0 ? 4 : 1;
  gpu().dispatch({
    kernel: { shader: REDUCE, entry: `${unit === 4 ? 'sum_axis4' : 'sum_axis'}${addend ? '_add' : ''}` },
    buffers: addend ? [x.range, out.range, addend.range] : [x.range, out.range],
    params: params(v.outer, v.axis, v.inner, f32(scale), chunk),
    workgroups: grid1d(Math.ceil(out.size / unit / WG)),
  });
}

function broadcastAxis(g: Tensor, v: AxisView, shape: Shape, scale: number): Tensor {
  const out = new Tensor(shape);
  gpu().dispatch({
    kernel: { shader: REDUCE, entry: 'broadcast_axis' },
    buffers: [g.range, out.range],
    params: params(v.outer, v.axis, v.inner, f32(scale), 0),
    workgroups: grid1d(Math.ceil(out.size / WG)),
  });
  // The reduction that undoes this broadcast is its backward.
  return record('broadcastAxis', [g], out, (gg) => [reduceAxis(gg, v, g.shape, scale)]);
}

function reduced(shape: Shape, axis: number, keepDim: boolean): Shape {
  const a = axis < 0 ? shape.length + axis : axis;
  return keepDim ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
}

/** The sum over `axis`; with `addend` (of the result's shape), plus it, added as the sums are stored. */
export function sum(x: Tensor, axis: number, keepDim = false, addend?: Tensor | null): Tensor {
  return reduceAxis(x, view(x.shape, axis), reduced(x.shape, axis, keepDim), 1, addend);
}

export function mean(x: Tensor, axis: number, keepDim = false): Tensor {
  const v = view(x.shape, axis);
  return reduceAxis(x, v, reduced(x.shape, axis, keepDim), 1 / v.axis);
}

/** Sum of all elements, as a one-element tensor of shape []. */
export function sumAll(x: Tensor): Tensor {
  return reduceAxis(x, { outer: 1, axis: x.size, inner: 1 }, [], 1);
}

export function meanAll(x: Tensor): Tensor {
  return reduceAxis(x, { outer: 1, axis: x.size, inner: 1 }, [], 1 / x.size);
}

/** Column sums of x viewed as [rows, cols] (+ addend [cols]): the gradient of a bias broadcast over rows. */
export function sumRows(x: Tensor, cols: number, addend?: Tensor | null): Tensor {
  return reduceAxis(x, { outer: 1, axis: x.size / cols, inner: cols }, [cols], 1, addend);
}
