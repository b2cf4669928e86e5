/**
 * Elementwise activations (shaders/activation.wgsl): exact GELU, as torch.nn.GELU() with approximate='none',
 * and exp (temperatures kept as log values, exp(logit_scale)); and QuickGELU, OpenAI's CLIP activation.
 */
import source from '../../../shaders/activation.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor } from '../tensor.ts';
import { mul } from './elementwise.ts';
import { flatSpans } from './workgroups.ts';

const ACTIVATION = shader('activation.wgsl', source);

type Entry = 'gelu_forward' | 'gelu_backward' | 'exp_forward' | 'quick_gelu_forward' | 'quick_gelu_backward';

/** Runs an elementwise kernel over x (and the gradient g, for a backward) into a new tensor shaped like x. */
function elementwise(entry: Entry, x: Tensor, g = x): Tensor {
  const out = new Tensor(x.shape);
  const { count, block, workgroups } = flatSpans(out.size, [x, g, out]);
  gpu().dispatch({
    kernel: { shader: ACTIVATION, entry },
    buffers: [x.range, g.range, out.range],
    params: params(count, block),
    workgroups,
  });
  return out;
}

/** x * Phi(x); backward g * (Phi(x) + x * phi(x)) in its own kernel. */
export function gelu(x: Tensor): Tensor {
  const y = elementwise('gelu_forward', x);
  return record('gelu', [x], y, (g) => [elementwise('gelu_backward', x, g)]);
}

/** e^x; backward g * e^x, written with mul so that it is differentiable again. */
export function exp(x: Tensor): Tensor {
  const y = elementwise('exp_forward', x);
  return record('exp', [x], y, (g) => [mul(g, y)]);
}

/** QuickGELU, x * sigmoid(1.702 x) (OpenAI's CLIP); backward g * (s + 1.702 x s (1 - s)) in its own kernel. */
export function quickGelu(x: Tensor): Tensor {
  const y = elementwise('quick_gelu_forward', x);
  return record('quickGelu', [x], y, (g) => [elementwise('quick_gelu_backward', x, g)]);
}
