/**
 * How many NaN and infinite values each of a list of float32 tensors holds (shaders/finite.wgsl), counted on the
 * GPU into one small int32 tensor: one read tells a training step whether its loss and gradients are usable.
 */
import source from '../../../shaders/finite.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { type Tensor, zeros } from '../tensor.ts';
import { blocks } from './workgroups.ts';

const FINITE = shader('finite.wgsl', source);

/** An int32 tensor [tensors.length]: entry i is the count of NaN and ±infinity in tensors[i]. */
export function nonFiniteCounts(tensors: readonly Tensor[]): Tensor {
  const counts = zeros([Math.max(1, tensors.length)], 'i32');
  for (const [slot, t] of tensors.entries()) {
    if (t.dtype !== 'f32') throw new Error(`nonFiniteCounts: ${t.toString()} is not f32`);
    if (t.size === 0) continue;
    const { block, workgroups } = blocks(t.size);
    gpu().dispatch({
      kernel: { shader: FINITE, entry: 'count_non_finite' },
      buffers: [t.buffer, counts.buffer],
      params: params(t.size, block, slot),
      workgroups,
    });
  }
  return counts;
}
