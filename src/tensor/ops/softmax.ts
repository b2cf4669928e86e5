/**
 * Softmax and log-softmax over the last axis (shaders/softmax.wgsl), numerically stable for any magnitude of
 * logits. Each backward reads the forward's output and has its own kernel:
 *   softmax:     dx = y * (g - sum(g * y))
 *   logSoftmax:  dx = g - exp(y) * sum(g)
 */
import source from '../../../shaders/softmax.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { lastAxisRows } from './shape.ts';
import { rowGroup } from './workgroups.ts';

const SOFTMAX = shader('softmax.wgsl', source);

type Entry = 'softmax_forward' | 'log_softmax_forward' | 'softmax_backward' | 'log_softmax_backward';

/** Runs a row kernel over `inputs` (shaped like the first) into a new tensor of that shape. */
function rowKernel(entry: Entry, inputs: Tensor[], op: string): Tensor {
  const { rows, cols } = lastAxisRows(inputs[0]!, op);
  const out = new Tensor(inputs[0]!.shape);
  gpu().dispatch({
    kernel: { shader: SOFTMAX, entry, constants: { GROUP: rowGroup() } },
    buffers: [...inputs, out].map((t) => t.range),
    params: params(rows, cols),
    workgroups: grid1d(rows),
  });
  return out;
}

export function softmax(x: Tensor): Tensor {
  const y = rowKernel('softmax_forward', [x], 'softmax');
  return record('softmax', [x], y, (g) => [rowKernel('softmax_backward', [y, g], 'softmax backward')]);
}

export function logSoftmax(x: Tensor): Tensor {
  const y = rowKernel('log_softmax_forward', [x], 'logSoftmax');
  return record('logSoftmax', [x], y, (g) => [rowKernel('log_softmax_backward', [y, g], 'logSoftmax backward')]);
}
