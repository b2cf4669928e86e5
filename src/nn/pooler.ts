/**
 * COSMOS's cross-attention pooler: one nn.MultiheadAttention whose query is a global embedding of one modality
 * and whose keys and values are the token features of the other. ln_q normalises the query, ln_k the tokens
 * (keys = values = ln_k(tokens)); no FFN, no residual inside, no key padding mask (text padding is attended).
 */
import type { Random } from '../data/random.ts';
import type { AttentionOutput } from '../tensor/ops/attention.ts';
import { reshape } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { MultiheadAttention } from './attention.ts';
import { LayerNorm } from './layers.ts';
import { Module } from './module.ts';

export class AttentionalCrossPooler extends Module {
  readonly attn: MultiheadAttention;
  readonly lnQ: LayerNorm;
  readonly lnK: LayerNorm;

  /** Every part keeps PyTorch's default init; registered in the reference's order (attn, ln_q, ln_k). */
  constructor(dim: number, heads: number, random: Random | null) {
    super();
    this.attn = this.module('attn', new MultiheadAttention(dim, heads, random));
    this.lnQ = this.module('ln_q', new LayerNorm(dim));
    this.lnK = this.module('ln_k', new LayerNorm(dim));
  }

  /**
   * query [R * B, E] (one global embedding per sample, for R views of a batch), tokens [B, T, E] (query r * B + i
   * attends over sample i's tokens) -> pooled [R * B, E] and, when asked, the attention weights over the T tokens
   * ([R * B, 1, T] mean over heads, or [R * B, heads, 1, T]).
   */
  forward(query: Tensor, tokens: Tensor, weights: 'none' | 'mean' | 'per-head' = 'none'): AttentionOutput {
    const [b, e] = query.shape as [number, number];
    const kv = this.lnK.forward(tokens);
    const q = this.lnQ.forward(reshape(query, [b, 1, e]));
    const result = this.attn.crossAttention(q, kv, { weights });
    return { out: reshape(result.out, [b, e]), weights: result.weights };
  }
}
