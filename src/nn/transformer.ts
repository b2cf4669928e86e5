/**
 * OpenCLIP's pre-LN residual blocks: x + attn(ln_1(x)), then x + mlp(ln_2(x)) with mlp = c_fc -> activation -> c_proj
 * (GELU, or QuickGELU for OpenAI's weights).
 */
import { gelu, quickGelu } from '../tensor/ops/activation.ts';
import { noGrad } from '../tensor/engine.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { MultiheadAttention } from './attention.ts';
import type { Activation, TowerNumerics } from './config.ts';
import { type Init, normalInit } from './init.ts';
import type { Random } from '../data/random.ts';
import { LayerNorm, Linear } from './layers.ts';
import { Module } from './module.ts';

/**
 * How a tower's blocks start. 'pytorch': every layer keeps PyTorch's default (OpenCLIP's VisionTransformer has no
 * init of its own). 'openclip-text': TextTransformer.init_parameters, normal weights of these stds (biases keep
 * PyTorch's defaults).
 */
export type BlockInit = 'pytorch' | 'openclip-text';

interface BlockWeights {
  attnIn: Init;
  attnOut: Init;
  fc: Init;
  proj: Init;
}

function openClipTextWeights(width: number, layers: number): BlockWeights {
  const attnStd = width ** -0.5;
  return {
    attnIn: normalInit(attnStd),
    attnOut: normalInit(attnStd * (2 * layers) ** -0.5),
    fc: normalInit((2 * width) ** -0.5),
    proj: normalInit(attnStd * (2 * layers) ** -0.5),
  };
}

/**
 * What a forward that is to be explained (src/eval/relevance.ts) collects: the attention probabilities [B, heads, T,
 * T] of the blocks from `from` on, first block first, as tape tensors whose gradient can be read.
 */
export interface Explained {
  from: number;
  probabilities: Tensor[];
}

const ACTIVATIONS: Record<Activation, (x: Tensor) => Tensor> = { gelu, quick_gelu: quickGelu };

/** A block's options: how its weights start, and its numerics (OpenCLIP's defaults: GELU, LayerNorm eps 1e-5). */
export interface BlockOptions extends Partial<TowerNumerics> {
  weights?: Partial<BlockWeights>;
}

class Mlp extends Module {
  readonly cFc: Linear;
  readonly cProj: Linear;
  private readonly activation: (x: Tensor) => Tensor;

  constructor(width: number, hidden: number, random: Random | null, weights: Partial<BlockWeights>, activation: Activation) {
    super();
    this.cFc = this.module('c_fc', new Linear(width, hidden, random, { weight: weights.fc }));
    this.cProj = this.module('c_proj', new Linear(hidden, width, random, { weight: weights.proj }));
    this.activation = ACTIVATIONS[activation];
  }

  /** With `residual`, that is added as c_proj stores its output. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    return this.cProj.forward(this.activation(this.cFc.forward(x)), residual);
  }
}

export class ResidualAttentionBlock extends Module {
  readonly ln1: LayerNorm;
  readonly attn: MultiheadAttention;
  readonly ln2: LayerNorm;
  readonly mlp: Mlp;

  constructor(width: number, heads: number, mlpWidth: number, random: Random | null, options: BlockOptions = {}) {
    super();
    const { weights = {}, activation = 'gelu', layerNormEps } = options;
    this.ln1 = this.module('ln_1', new LayerNorm(width, layerNormEps));
    this.attn = this.module('attn', new MultiheadAttention(width, heads, random, { inProj: weights.attnIn, outProj: weights.attnOut }));
    this.ln2 = this.module('ln_2', new LayerNorm(width, layerNormEps));
    this.mlp = this.module('mlp', new Mlp(width, mlpWidth, random, weights, activation));
  }

  /**
   * With `attentionMaps`, the block's per-head attention weights [B, heads, T, T] are pushed onto it; with
   * `explained`, its attention probabilities as a tape tensor requiring grad, pushed onto `explained.probabilities`.
   */
  forward(x: Tensor, causal = false, attentionMaps?: Tensor[], explained?: Explained): Tensor {
    // Both residual adds happen as the projections store their outputs (out_proj, then c_proj).
    const { out: attended, weights } = this.attn.selfAttention(this.ln1.forward(x), {
      causal,
      weights: attentionMaps ? 'per-head' : 'none',
      explicit: explained !== undefined,
      residual: x,
    });
    if (explained) {
      // A leaf when nothing before it needs a gradient: requiring one is what makes the rest of the tower record.
      weights!.requiresGrad = true;
      explained.probabilities.push(weights!);
    } else if (weights) attentionMaps!.push(weights);
    return this.mlp.forward(this.ln2.forward(attended), attended);
  }
}

export class Transformer extends Module {
  readonly resblocks: ResidualAttentionBlock[];

  constructor(
    width: number,
    layers: number,
    heads: number,
    mlpWidth: number,
    random: Random | null,
    { init = 'pytorch', ...numerics }: Partial<TowerNumerics> & { init?: BlockInit } = {},
  ) {
    super();
    const blocks = new ResidualBlocks();
    const weights = init === 'openclip-text' ? openClipTextWeights(width, layers) : {};
    this.resblocks = Array.from({ length: layers }, (_, i) =>
      blocks.add(i, new ResidualAttentionBlock(width, heads, mlpWidth, random, { weights, ...numerics })),
    );
    this.module('resblocks', blocks);
  }

  /**
   * With `attentionMaps`, every block's per-head attention weights are collected there, first layer first. With
   * `explained`, the blocks before `explained.from` run without the tape and the others push their probabilities.
   */
  forward(x: Tensor, causal = false, attentionMaps?: Tensor[], explained?: Explained): Tensor {
    return this.resblocks.reduce((h, block, i) => {
      if (!explained) return block.forward(h, causal, attentionMaps);
      return i < explained.from ? noGrad(() => block.forward(h, causal)) : block.forward(h, causal, undefined, explained);
    }, x);
  }
}

/** nn.ModuleList: children named 0, 1, 2, ... */
class ResidualBlocks extends Module {
  add<M extends Module>(index: number, block: M): M {
    return this.module(String(index), block);
  }
}
