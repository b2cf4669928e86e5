/**
 * How kernels split their work over workgroups, by the adapter's kernel family (src/gpu/kernelChoice.ts). A CPU
 * adapter (SwiftShader) runs each workgroup as one task on a core, four invocations to a SIMD group: there every
 * invocation, loop iteration and workgroup has a fixed cost and each workgroup barrier switches coroutines, so it
 * wants few large workgroups, vec4 loads and no barriers. A GPU wants many small workgroups.
 */
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import type { Tensor } from '../tensor.ts';

/** Whether this adapter runs the CPU shape of the kernels: measured by tuneKernels, else a fallback adapter does. */
export const cpuStyleKernels = (): boolean => gpu().kernels.cpuStyle;

/**
 * GROUP of the workgroup-per-row kernels (layernorm.wgsl, softmax.wgsl), which give each row GROUP^2 invocations:
 * 64 on a GPU; 4, one SIMD group, on a CPU adapter, where each barrier costs more than a row's arithmetic (3-10x
 * faster there than 64).
 */
export const rowGroup = (): number => (cpuStyleKernels() ? 2 : 8);

/** Invocations per workgroup of the flat kernels (their WGSL's WG). */
const FLAT_WG = 64;
/** vec4s a workgroup's loop moves per round: each invocation does four, unrolled. */
const ROUND = 4 * FLAT_WG;
/**
 * Blocks a flat kernel is split into on a CPU adapter. Measured on a 2-core machine (1M-element add): 4, 8 and 16
 * run alike and 3x faster than one round per workgroup; 8 leaves room to balance when other work shares the cores.
 */
const CPU_BLOCKS = 8;

export interface Blocks {
  /** Units (vec4s, words) per workgroup, a multiple of ROUND; the last workgroup's block ends at the count. */
  block: number;
  workgroups: [number, number];
}

/** Contiguous blocks over `count` units of work: one round per workgroup on a GPU, CPU_BLOCKS on a CPU adapter. */
export function blocks(count: number): Blocks {
  const block = cpuStyleKernels() ? Math.max(1, Math.ceil(count / CPU_BLOCKS / ROUND)) * ROUND : ROUND;
  return { block, workgroups: grid1d(Math.ceil(count / block)) };
}

export interface FlatSpans extends Blocks {
  /** vec4s to process: the elements rounded up to whole vec4s. */
  count: number;
}

/**
 * The blocks of a flat kernel (elementwise.wgsl, update.wgsl, activation.wgsl) over `size` elements of `tensors`,
 * in vec4s. The kernels read and write whole vec4s, so the last one may run past `size` into the buffer's padding:
 * each tensor's buffer must hold whole vec4s (the pool's size classes are multiples of 32 bytes), checked here.
 */
export function flatSpans(size: number, tensors: readonly Tensor[]): FlatSpans {
  const count = Math.ceil(size / 4);
  for (const t of tensors) {
    if (t.range.size < count * 16) {
      throw new Error(`${t.toString()} sits in a range of ${t.range.size} bytes, short of the ${count * 16} that whole vec4s need`);
    }
  }
  return { count, ...blocks(count) };
}
