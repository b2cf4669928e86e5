/** Sum and mean over one axis (shaders/reduce.wgsl); backward broadcasts the gradient back over the axis. */
import source from '../../../shaders/reduce.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { type Shape, Tensor, numel, shapeString } from '../tensor.ts';

const REDUCE = shader('reduce.wgsl', source);
const WG = 64;

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

function reduceAxis(x: Tensor, v: AxisView, outShape: Shape, scale: number): Tensor {
  const out = new Tensor(outShape);
  gpu().dispatch({
    kernel: { shader: REDUCE, entry: 'sum_axis' },
    buffers: [x.buffer, out.buffer],
    params: params(v.outer, v.axis, v.inner, f32(scale)),
    workgroups: grid1d(Math.ceil((v.outer * v.inner) / WG)),
  });
  return record('sumAxis', [x], out, (g) => [broadcastAxis(g, v, x.shape, scale)]);
}

function broadcastAxis(g: Tensor, v: AxisView, shape: Shape, scale: number): Tensor {
  const out = new Tensor(shape);
  gpu().dispatch({
    kernel: { shader: REDUCE, entry: 'broadcast_axis' },
    buffers: [g.buffer, out.buffer],
    params: params(v.outer, v.axis, v.inner, f32(scale)),
    workgroups: grid1d(Math.ceil(out.size / WG)),
  });
  // The reduction that undoes this broadcast is its backward.
  return record('broadcastAxis', [g], out, (gg) => [reduceAxis(gg, v, g.shape, scale)]);
}

function reduced(shape: Shape, axis: number, keepDim: boolean): Shape {
  const a = axis < 0 ? shape.length + axis : axis;
  return keepDim ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
}

export function sum(x: Tensor, axis: number, keepDim = false): Tensor {
  return reduceAxis(x, view(x.shape, axis), reduced(x.shape, axis, keepDim), 1);
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

/** Column sums of x viewed as [rows, cols]: the gradient of a bias broadcast over rows. */
export function sumRows(x: Tensor, cols: number): Tensor {
  return reduceAxis(x, { outer: 1, axis: x.size / cols, inner: cols }, [cols], 1);
}
