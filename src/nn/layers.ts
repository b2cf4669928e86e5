/** Linear and LayerNorm with PyTorch's parameter names and default initialisation. */
import { layerNorm } from '../tensor/ops/layernorm.ts';
import { linear } from '../tensor/ops/matmul.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { constant } from './init.ts';
import { Module } from './module.ts';

export class Linear extends Module {
  readonly weight: Tensor;
  readonly bias: Tensor | null;

  /** `init` gives the weight's values ([out, in], row-major), or null for zeros to be loaded; biases start at zero. */
  constructor(inFeatures: number, outFeatures: number, init: Float32Array | null, bias = true) {
    super();
    this.weight = this.parameter('weight', [outFeatures, inFeatures], init);
    this.bias = bias ? this.parameter('bias', [outFeatures], constant(outFeatures, 0)) : null;
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias ?? undefined);
  }
}

/** nn.Embedding: a [count, dim] table whose rows are looked up by id (the lookup is ops/embedding.ts). */
export class Embedding extends Module {
  readonly weight: Tensor;

  constructor(count: number, dim: number, init: Float32Array | null) {
    super();
    this.weight = this.parameter('weight', [count, dim], init);
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
    this.weight = this.parameter('weight', [dim], constant(dim, 1));
    this.bias = this.parameter('bias', [dim], constant(dim, 0));
  }

  forward(x: Tensor): Tensor {
    return layerNorm(x, this.weight, this.bias, this.eps);
  }
}
