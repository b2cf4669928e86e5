/**
 * nn.MultiheadAttention as PyTorch stores it: one packed `in_proj_weight` [3E, E] and `in_proj_bias` [3E] for
 * q, k and v, then `out_proj`. Heads stay interleaved in the last axis ([B, T, H*D]), the layout our attention
 * kernel reads directly, so no transposes are needed.
 */
import { attendWith, attention, attentionProbabilities, type AttentionOutput, packedSelfAttention } from '../tensor/ops/attention.ts';
import { gatherRows } from '../tensor/ops/embedding.ts';
import { linear } from '../tensor/ops/matmul.ts';
import { slice } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fanInUniform, type Init, xavierUniform, zerosInit } from './init.ts';
import type { Random } from '../data/random.ts';
import { Linear } from './layers.ts';
import { Module } from './module.ts';

export interface MhaOptions {
  causal?: boolean;
  weights?: 'none' | 'mean' | 'per-head';
  /**
   * The probabilities as a tape tensor of their own, returned as `weights` per head and differentiable (relevance
   * reads their gradient): softmax(q k^T) then its product with v, instead of the fused kernel.
   */
  explicit?: boolean;
  /** Added to the output as out_proj stores it: the residual stream of a transformer block. */
  residual?: Tensor;
}

export interface AttentionInit {
  /** PyTorch's default: xavier_uniform over the packed [3E, E] matrix. */
  inProj?: Init;
  /** PyTorch's default: nn.Linear's U(+-1/sqrt(E)). */
  outProj?: Init;
}

export class MultiheadAttention extends Module {
  readonly inProjWeight: Tensor;
  readonly inProjBias: Tensor;
  readonly outProj: Linear;

  constructor(
    readonly embedDim: number,
    readonly heads: number,
    random: Random | null,
    init: AttentionInit = {},
  ) {
    super();
    if (embedDim % heads !== 0) throw new Error(`MultiheadAttention: ${embedDim} is not divisible by ${heads} heads`);
    const e = embedDim;
    // Both biases start at zero (MultiheadAttention._reset_parameters).
    this.inProjWeight = this.parameter('in_proj_weight', [3 * e, e], init.inProj ?? xavierUniform(e, 3 * e), random);
    this.inProjBias = this.parameter('in_proj_bias', [3 * e], zerosInit, random);
    this.outProj = this.module('out_proj', new Linear(e, e, random, { weight: init.outProj ?? fanInUniform(e), bias: zerosInit }));
  }

  /**
   * Self-attention: q, k and v all come from x [B, T, E], in one packed projection the kernels read in place
   * (with `explicit`, sliced out for attentionProbabilities and attendWith).
   */
  selfAttention(x: Tensor, opts: MhaOptions = {}): AttentionOutput {
    const qkv = linear(x, this.inProjWeight, this.inProjBias);
    if (opts.explicit) {
      // Explaining only: the probabilities are a tape tensor of their own, computed from q and k sliced out.
      const [e, last] = [this.embedDim, qkv.shape.length - 1];
      return this.attend(slice(qkv, last, 0, e), slice(qkv, last, e, 2 * e), slice(qkv, last, 2 * e, 3 * e), opts);
    }
    const { out, weights } = packedSelfAttention(qkv, { heads: this.heads, causal: opts.causal, weights: opts.weights ?? 'none' });
    return { out: this.outProj.forward(out, opts.residual), weights };
  }

  /**
   * Cross-attention: queries [R * B, Tq, E] attend over keys = values = kv [B, Tk, E], query r * B + i over kv i.
   * With R > 1 (several views of one batch against the same tokens) k and v are projected once and repeated:
   * what the reference computes from R copies of the tokens, for 1/R of the work.
   */
  crossAttention(query: Tensor, kv: Tensor, opts: MhaOptions = {}): AttentionOutput {
    const e = this.embedDim;
    const w = this.inProjWeight;
    const b = this.inProjBias;
    const [queries, batch] = [query.shape[0]!, kv.shape[0]!];
    if (queries % batch !== 0) throw new Error(`crossAttention: ${queries} queries do not repeat over a batch of ${batch}`);
    const repeated = (x: Tensor) =>
      queries === batch
        ? x
        : gatherRows(
            x,
            Int32Array.from({ length: queries }, (_, i) => i % batch),
          );
    const q = linear(query, slice(w, 0, 0, e), slice(b, 0, 0, e));
    const k = repeated(linear(kv, slice(w, 0, e, 2 * e), slice(b, 0, e, 2 * e)));
    const v = repeated(linear(kv, slice(w, 0, 2 * e, 3 * e), slice(b, 0, 2 * e, 3 * e)));
    return this.attend(q, k, v, opts);
  }

  private attend(q: Tensor, k: Tensor, v: Tensor, opts: MhaOptions): AttentionOutput {
    const shape = { heads: this.heads, causal: opts.causal };
    if (opts.explicit) {
      const probs = attentionProbabilities(q, k, shape);
      return { out: this.outProj.forward(attendWith(probs, v, shape), opts.residual), weights: probs };
    }
    const { out, weights } = attention(q, k, v, { ...shape, weights: opts.weights ?? 'none' });
    return { out: this.outProj.forward(out, opts.residual), weights };
  }
}
