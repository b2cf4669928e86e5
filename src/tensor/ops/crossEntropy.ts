/**
 * Mean cross-entropy over rows of logits (shaders/contrastive.wgsl), fused: one kernel takes each row's logsumexp
 * (max-shifted, so logits of 100 * cosine are safe) and loss, one writes the whole backward.
 */
import source from '../../../shaders/contrastive.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, assertShape, shapeString } from '../tensor.ts';
import { meanAll } from './reduce.ts';
import { rowGroup } from './workgroups.ts';

/** shaders/contrastive.wgsl, shared with normalize.ts. */
export const CONTRASTIVE = shader('contrastive.wgsl', source);
/** Its row kernels' override: a workgroup of rowGroup()^2 invocations per row, as the norm and softmax kernels. */
export const rowKernelConstants = (): Record<string, number> => ({ ROW_WG: rowGroup() ** 2 });
const WG = 64;

/**
 * F.cross_entropy(logits [N, C], targets i32 [N]) with mean reduction -> a scalar of shape []. Targets must lie
 * in [0, C) (class indices, no ignore_index).
 */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  if (logits.shape.length !== 2 || logits.dtype !== 'f32') {
    throw new Error(`crossEntropy: logits must be f32 [N, C], got ${shapeString(logits.shape)}`);
  }
  const [rows, cols] = logits.shape as [number, number];
  if (targets.dtype !== 'i32') throw new Error(`crossEntropy: targets must be i32, got ${targets.dtype}`);
  assertShape(targets, [rows], 'crossEntropy targets');
  if (rows === 0 || cols === 0) throw new Error(`crossEntropy: empty logits ${shapeString(logits.shape)}`);
  const rowLoss = new Tensor([rows]);
  const lse = new Tensor([rows]);
  gpu().dispatch({
    kernel: { shader: CONTRASTIVE, entry: 'cross_entropy', constants: rowKernelConstants() },
    buffers: [logits.range, targets.range, rowLoss.range, lse.range],
    params: params(rows, cols, f32(0)),
    workgroups: grid1d(rows),
  });
  // rowLoss is not on the tape, so this mean records nothing: crossEntropy's own backward covers it.
  const loss = meanAll(rowLoss);
  rowLoss.dispose();
  const backwardRule = (g: Tensor, needs: readonly boolean[]) => [needs[0] ? crossEntropyBackward(logits, targets, lse, g) : null, null];
  return record('crossEntropy', [logits, targets], loss, backwardRule, [lse]);
}

function crossEntropyBackward(logits: Tensor, targets: Tensor, lse: Tensor, gradLoss: Tensor): Tensor {
  const [rows, cols] = logits.shape as [number, number];
  const grad = new Tensor(logits.shape);
  gpu().dispatch({
    kernel: { shader: CONTRASTIVE, entry: 'cross_entropy_backward' },
    buffers: [logits.range, targets.range, lse.range, gradLoss.range, grad.range],
    params: params(rows, cols, f32(1 / rows)),
    workgroups: grid1d(Math.ceil(grad.size / (WG * 4))),
  });
  return grad;
}
