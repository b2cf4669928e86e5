/**
 * One block's term of gradient-weighted attention relevance (shaders/relevance.wgsl), what src/eval/relevance.ts
 * multiplies through the blocks. Read, not differentiated: no backward.
 */
import source from '../../../shaders/relevance.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { Tensor, shapeString } from '../tensor.ts';

const RELEVANCE = shader('relevance.wgsl', source);
const WG = 64;

/** mean over heads of max(grad * probs, 0): grad and probs [B, heads, T, T], the result [B, T, T]. */
export function positiveHeadMean(grad: Tensor, probs: Tensor): Tensor {
  const [batch, heads, rows, cols] = probs.shape as [number, number, number, number];
  if (probs.shape.length !== 4 || rows !== cols || grad.shape.some((n, i) => n !== probs.shape[i]) || grad.shape.length !== 4) {
    throw new Error(`positiveHeadMean: gradient ${shapeString(grad.shape)} and probabilities ${shapeString(probs.shape)} must both be [batch, heads, T, T]`);
  }
  const out = new Tensor([batch, rows, cols]);
  gpu().dispatch({
    kernel: { shader: RELEVANCE, entry: 'positive_head_mean' },
    buffers: [grad.range, probs.range, out.range],
    params: params(batch, heads, rows * cols),
    workgroups: grid1d(Math.ceil(out.size / WG)),
  });
  return out;
}
