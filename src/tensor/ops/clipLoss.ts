/**
 * The CLIP contrastive loss over every pair of views in one op (shaders/contrastive.wgsl): a stack of `va` views
 * of a batch against a stack of `vb` views of the same batch. Forward is one product for all the pairs' logits,
 * one kernel for every row's and column's cross-entropy, one sum; backward is one kernel for the logits' gradient
 * (and the temperature's), two products and one sum: a few dispatches whatever the number of pairs.
 */
import { grid1d } from '../../gpu/runtime.ts';
import { gpu, noGrad } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, shapeString } from '../tensor.ts';
import { CONTRASTIVE } from './crossEntropy.ts';
import { matmul } from './matmul.ts';
import { sumAll } from './reduce.ts';
import { reshape } from './shape.ts';

const WG = 64;

/**
 * mean over the va * vb pairs (a, b) of 0.5 * [CE(s a bᵀ, diag) + CE(s b aᵀ, diag)], s = exp(logScale): the
 * reference's ClipLoss. a: [va * batch, E] and b: [vb * batch, E], L2-normalized, views stacked batch after batch;
 * logScale: the log of the temperature, shape []. Returns a scalar of shape [].
 */
export function multiViewClipLoss(a: Tensor, b: Tensor, logScale: Tensor, batch: number): Tensor {
  const [rowsA, e] = a.shape as [number, number];
  const [rowsB, eb] = b.shape as [number, number];
  if (a.shape.length !== 2 || b.shape.length !== 2 || e !== eb || rowsA % batch || rowsB % batch || logScale.size !== 1) {
    throw new Error(`multiViewClipLoss: needs [va * ${batch}, E] and [vb * ${batch}, E] and a scalar, got ${shapeString(a.shape)}, ${shapeString(b.shape)}`);
  }
  const [va, vb] = [rowsA / batch, rowsB / batch];
  const u = params(batch, va, vb, f32(0.5 / (va * vb * batch)));
  const sim = noGrad(() => matmul(a, b, { transB: true }));
  const segments = 2 * va * vb * batch;
  const terms = new Tensor([segments]);
  const lse = new Tensor([segments]);
  gpu().dispatch({
    kernel: { shader: CONTRASTIVE, entry: 'clip_loss' },
    buffers: [sim.range, logScale.range, terms.range, lse.range],
    params: u,
    workgroups: grid1d(Math.ceil(segments / WG)),
  });
  const loss = reshape(
    noGrad(() => sumAll(terms)),
    [],
  );
  terms.dispose();
  return record(
    'multiViewClipLoss',
    [a, b, logScale],
    loss,
    (g, needs) => {
      const gradSim = new Tensor(sim.shape);
      const gradScale = new Tensor(sim.shape);
      gpu().dispatch({
        kernel: { shader: CONTRASTIVE, entry: 'clip_loss_backward' },
        buffers: [sim.range, logScale.range, lse.range, g.range, gradSim.range, gradScale.range],
        params: u,
        workgroups: grid1d(Math.ceil(sim.size / WG)),
      });
      return [
        needs[0] ? matmul(gradSim, b) : null,
        needs[1] ? matmul(gradSim, a, { transA: true }) : null,
        needs[2] ? reshape(sumAll(gradScale), logScale.shape) : null,
      ];
    },
    [sim, lse],
  );
}
