/**
 * How many NaN and infinite values each of a list of float32 tensors holds (shaders/finite.wgsl), counted on the
 * GPU into one small int32 tensor: one read tells a training step whether its loss and gradients are usable.
 */
import source from '../../../shaders/finite.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { params } from '../params.ts';
import { type Tensor, zeros } from '../tensor.ts';
import { blocks } from './workgroups.ts';

const FINITE = shader('finite.wgsl', source);

/** Tensors one dispatch reads: the kernel's storage bindings less the counts', within WebGPU's default of 8. */
const TENSORS_PER_DISPATCH = 7;

/** An int32 tensor [tensors.length]: entry i is the count of NaN and ±infinity in tensors[i]. */
export function nonFiniteCounts(tensors: readonly Tensor[]): Tensor {
  const counts = zeros([Math.max(1, tensors.length)], 'i32');
  for (const t of tensors) if (t.dtype !== 'f32') throw new Error(`nonFiniteCounts: ${t.toString()} is not f32`);
  const slots = [...tensors.entries()].filter(([, t]) => t.size > 0);
  for (let i = 0; i < slots.length; i += TENSORS_PER_DISPATCH) countGroup(slots.slice(i, i + TENSORS_PER_DISPATCH), counts);
  return counts;
}

/** One dispatch over up to seven tensors, each with its own run of workgroups ([slot, tensor] pairs). */
function countGroup(group: readonly [number, Tensor][], counts: Tensor): void {
  const spans: number[] = [];
  let workgroups = 0;
  for (const [slot, t] of group) {
    const { block, workgroups: grid } = blocks(Math.ceil(t.size / 4));
    spans.push(t.size, block, workgroups, slot);
    workgroups += grid[0] * grid[1];
  }
  // Unused bindings repeat the first tensor: bound, never read.
  const buffers = Array.from({ length: TENSORS_PER_DISPATCH }, (_, i) => (group[i] ?? group[0]!)[1].range);
  gpu().dispatch({
    kernel: { shader: FINITE, entry: 'count_non_finite' },
    buffers: [...buffers, counts.range],
    // The tensor count, padding to the spans' 16-byte alignment, then all seven spans (the unused ones zero).
    params: params(group.length, 0, 0, 0, ...spans, ...Array<number>(4 * (TENSORS_PER_DISPATCH - group.length)).fill(0)),
    workgroups: grid1d(workgroups),
  });
}
