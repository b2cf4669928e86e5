/**
 * Attention rollout (Abnar & Zuidema, "Quantifying Attention Flow in Transformers", 2020): how much each input
 * token flows into the CLS token through all layers, counting the residual path. Per layer,
 * A' = 0.5 * mean_heads(A) + 0.5 * I with rows renormalized to sum to 1; the layers are multiplied in order,
 * R = A'_L ... A'_2 A'_1, and the CLS row of R over the patch tokens is the map.
 */

/** One layer's attention: [heads, T, T] row-major, rows are softmax distributions (query i over keys j). */
export interface LayerAttention {
  heads: number;
  tokens: number;
  weights: Float32Array;
}

/** A' of one layer as a [T, T] float64 matrix: head mean, half identity, rows renormalized. */
export function residualAttention({ heads, tokens: t, weights }: LayerAttention): Float64Array {
  if (weights.length !== heads * t * t) throw new Error(`rollout: ${weights.length} weights for ${heads} heads of ${t}x${t}`);
  const out = new Float64Array(t * t);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < t * t; i++) out[i]! += weights[h * t * t + i]! / heads;
  }
  for (let i = 0; i < t; i++) {
    let total = 0;
    for (let j = 0; j < t; j++) {
      const v = 0.5 * out[i * t + j]! + (i === j ? 0.5 : 0);
      out[i * t + j] = v;
      total += v;
    }
    for (let j = 0; j < t; j++) out[i * t + j]! /= total;
  }
  return out;
}

/** The rollout's CLS row over the patches (tokens 1..T-1), layers given first to last; T = 1 + patches. */
export function attentionRollout(layers: readonly LayerAttention[]): Float32Array {
  if (layers.length === 0) throw new Error('rollout needs at least one layer');
  const t = layers[0]!.tokens;
  // Only the CLS row of the product is needed: row 0 of A'_L ... A'_1 = ((e_0 A'_L) A'_{L-1}) ... A'_1.
  let row = new Float64Array(t);
  row[0] = 1;
  for (let l = layers.length - 1; l >= 0; l--) {
    const layer = layers[l]!;
    if (layer.tokens !== t) throw new Error(`rollout: layer ${l} has ${layer.tokens} tokens, layer 0 has ${t}`);
    const a = residualAttention(layer);
    const next = new Float64Array(t);
    for (let i = 0; i < t; i++) {
      const r = row[i]!;
      if (r === 0) continue;
      for (let j = 0; j < t; j++) next[j]! += r * a[i * t + j]!;
    }
    row = next;
  }
  return Float32Array.from(row.subarray(1));
}
