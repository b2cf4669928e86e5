/**
 * An opt-in count of floating-point operations, for benchmarks: the ops that do matrix-product work report it from
 * their shapes as they dispatch, and `countFlops` adds up what the work inside it dispatched. Outside `countFlops`
 * a report is one comparison with null.
 *
 * What counts, 2 FLOPs (a multiply and an add) per term of every product, forward and backward alike since the
 * backward rules dispatch the same ops:
 * - matmul: 2 M N K per batch item (linear layers, the patch embedding, projections, the contrastive logits); its
 *   backward is one such product per input that needs a gradient (2 M N K each).
 * - attention: q kᵀ and p v, 2 Tq Tk D each per batch item and head; backward dP = dO vᵀ, dq, dk and dv, 2 Tq Tk D
 *   each. A causal mask's skipped half is counted as computed, as a dense implementation computes it.
 * What does not: elementwise ops, softmax, layer norm, reductions, the loss kernels, the optimizer and EMA updates,
 * the image-view kernels. They are O(size) work next to the products' O(size · K) and are memory-bound anyway.
 */

let counted: number | null = null;

/** Called by an op for each product it dispatches. */
export function addFlops(flops: number): void {
  if (counted !== null) counted += flops;
}

/**
 * Runs `fn` and returns its value with the FLOPs of the products dispatched meanwhile. Nothing else may dispatch
 * while it awaits (one engine, one count); a count inside another adds to the outer one too.
 */
export async function countFlops<T>(fn: () => Promise<T>): Promise<{ value: T; flops: number }> {
  const outer = counted;
  counted = 0;
  try {
    const value = await fn();
    return { value, flops: counted };
  } finally {
    counted = outer === null ? null : outer + (counted ?? 0);
  }
}
