/** Reshape: a view that shares storage, so it costs nothing on the GPU; its backward reshapes back. */
import { record } from '../tape.ts';
import { type Shape, Tensor } from '../tensor.ts';

export function reshape(x: Tensor, shape: Shape): Tensor {
  const out = new Tensor(shape, x.dtype, x);
  return record('reshape', [x], out, (g) => [reshape(g, x.shape)]);
}
