/** Linear, Embedding and LayerNorm with PyTorch's parameter names and default initialisation. */
import { layerNorm } from '../tensor/ops/layernorm.ts';
import { linear } from '../tensor/ops/matmul.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { fanInUniform, type Init, normalInit, onesInit, zerosInit } from './init.ts';
import type { Random } from '../data/random.ts';
import { Module } from './module.ts';

export interface LinearInit {
  /** PyTorch's default: U(+-1/sqrt(in)). */
  weight?: Init;
  /** PyTorch's default: U(+-1/sqrt(in)); null for a Linear without bias. */
  bias?: Init | null;
}

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  constructor(inFeatures: number, outFeatures: number, random: Random | null, init: LinearInit = {}) {
    super();
    this.weight = this.parameter('weight', [outFeatures, inFeatures], init.weight ?? fanInUniform(inFeatures), random);
    const bias = init.bias === undefined ? fanInUniform(inFeatures) : init.bias;
    this.bias = bias ? this.parameter('bias', [outFeatures], bias, random) : null;
  }

  /** With `residual` (the output's shape), that is added as the product is stored. */
  forward(x: Tensor, residual?: Tensor): Tensor {
    return linear(x, this.weight, this.bias ?? undefined, residual);
  }
}

/** nn.Embedding: a [count, dim] table whose rows are looked up by id (the lookup is ops/embedding.ts). */
export class Embedding extends Module {
  readonly weight: Tensor;

  /** PyTorch's default init is N(0, 1). */
  constructor(count: number, dim: number, random: Random | null, init: Init = normalInit(1)) {
    super();
    this.weight = this.parameter('weight', [count, dim], init, random);
  }
}

export class LayerNorm extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor;

  constructor(
    dim: number,
    readonly eps = 1e-5,
  ) {
    super();
    this.weight = this.parameter('weight', [dim], onesInit, null);
    this.bias = this.parameter('bias', [dim], zerosInit, null);
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
