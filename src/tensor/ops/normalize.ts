/** L2 normalization over the last axis (kernels in shaders/contrastive.wgsl), as torch.nn.functional.normalize. */
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, shapeString } from '../tensor.ts';
import { CONTRASTIVE, rowKernelConstants } from './crossEntropy.ts';

/** F.normalize's default: the norm is clamped to at least this before dividing. */
const EPS = 1e-12;

/** x / max(|x|, 1e-12) along the last axis, for every row of x. */
export function l2Normalize(x: Tensor): Tensor {
  const cols = x.shape.at(-1);
  if (!cols || x.dtype !== 'f32') {
    throw new Error(`l2Normalize: needs a non-empty f32 last axis, got ${shapeString(x.shape)}`);
  }
  const rows = x.size / cols;
  const out = new Tensor(x.shape);
  const norms = new Tensor([rows]);
  gpu().dispatch({
    kernel: { shader: CONTRASTIVE, entry: 'l2_normalize', constants: rowKernelConstants() },
    buffers: [x.range, out.range, norms.range],
    params: params(rows, cols, f32(EPS)),
    workgroups: grid1d(rows),
  });
  return record(
    'l2Normalize',
    [x],
    out,
    (g) => {
      const grad = new Tensor(x.shape);
      gpu().dispatch({
        kernel: { shader: CONTRASTIVE, entry: 'l2_normalize_backward', constants: rowKernelConstants() },
        buffers: [g.range, out.range, norms.range, grad.range],
        params: params(rows, cols, f32(EPS)),
        workgroups: grid1d(rows),
      });
      return [grad];
    },
    [norms],
  );
}
