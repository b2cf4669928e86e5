/**
 * OpenCLIP's VisionTransformer: conv1 patch embedding (kernel = stride = patch, no bias) -> prepend
 * class_embedding -> add positional_embedding (bicubic-resized for other input sizes, DINO style) -> ln_pre ->
 * transformer -> ln_post on all tokens. Global feature = CLS token times proj; patch tokens = the rest.
 */
import { addRows } from '../tensor/ops/elementwise.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { bicubicResize } from '../tensor/ops/resize.ts';
import { patchify } from '../tensor/ops/embedding.ts';
import { concat, reshape, slice, transpose } from '../tensor/ops/shape.ts';
import { type Tensor, zeros } from '../tensor/tensor.ts';
import type { VisionConfig } from './config.ts';
import { fanInUniform, normalInit } from './init.ts';
import type { Random } from '../data/random.ts';
import { LayerNorm } from './layers.ts';
import { Module } from './module.ts';
import { AttentionalCrossPooler } from './pooler.ts';
import { type Explained, Transformer } from './transformer.ts';

export interface VisionFeatures {
  /** [B, embed]: CLS after ln_post, times proj (not normalized). */
  global: Tensor;
  /** [B, gridH * gridW, width]: patch tokens after ln_post, row-major over the grid. */
  patches: Tensor;
  grid: [number, number];
}

export class VisionTransformer extends Module {
  readonly conv1Weight: Tensor;
  readonly classEmbedding: Tensor;
  readonly positionalEmbedding: Tensor;
  readonly proj: Tensor;
  readonly lnPre: LayerNorm;
  readonly transformer: Transformer;
  /** COSMOS's `visual.attn_cross_pool` (a caption's query over the patch tokens); null for a plain CLIP tower. */
  readonly attnCrossPool: AttentionalCrossPooler | null;
  readonly lnPost: LayerNorm;
  readonly trainedGrid: number;

  /**
   * With `attentionalPool` (OpenCLIP's flag, which COSMOS sets) the tower has its cross-attention pooler, drawn from
   * `poolRandom` (the tower's own stream unless given: a pooler added to a pretrained tower has a stream of its own).
   */
  constructor(
    readonly config: VisionConfig,
    embedDim: number,
    random: Random | null,
    { attentionalPool, poolRandom = random }: { attentionalPool: boolean; poolRandom?: Random | null },
  ) {
    super();
    const { width, patchSize: p, imageSize } = config;
    const scale = width ** -0.5;
    this.trainedGrid = imageSize / p;
    const tokens = this.trainedGrid ** 2 + 1;
    // Registration order follows OpenCLIP's state_dict: own parameters first, then children. OpenCLIP draws these
    // three as scale * randn; everything else in the vision tower keeps PyTorch's default init.
    this.classEmbedding = this.parameter('class_embedding', [width], normalInit(scale), random);
    this.positionalEmbedding = this.parameter('positional_embedding', [tokens, width], normalInit(scale), random);
    this.proj = this.parameter('proj', [width, embedDim], normalInit(scale), random);
    this.conv1Weight = this.parameter('conv1.weight', [width, 3, p, p], fanInUniform(3 * p * p), random);
    const { activation, layerNormEps } = config;
    this.lnPre = this.module('ln_pre', new LayerNorm(width, layerNormEps));
    this.transformer = this.module('transformer', new Transformer(width, config.layers, config.heads, config.mlpWidth, random, { activation, layerNormEps }));
    this.attnCrossPool = attentionalPool ? this.module('attn_cross_pool', new AttentionalCrossPooler(embedDim, config.attnPoolerHeads, poolRandom)) : null;
    this.lnPost = this.module('ln_post', new LayerNorm(width, layerNormEps));
  }

  /**
   * images [B, 3, H, W], already normalized; H and W multiples of the patch size. With `attentionMaps`, each
   * layer's self-attention weights [B, heads, T, T] (token 0 is CLS) are collected there; `explained`: see
   * Transformer.forward.
   */
  forward(images: Tensor, attentionMaps?: Tensor[], explained?: Explained): VisionFeatures {
    const [b, , h, w] = images.shape as [number, number, number, number];
    const { width, patchSize: p } = this.config;
    if (h % p || w % p) throw new Error(`Image ${h}x${w} is not a multiple of the patch size ${p}`);
    const grid: [number, number] = [h / p, w / p];
    const tokens = grid[0] * grid[1] + 1;
    const patchEmbeddings = matmul(patchify(images, p), reshape(this.conv1Weight, [width, 3 * p * p]), { transB: true });
    const cls = addRows(zeros([b, 1, width]), this.classEmbedding);
    const x0 = concat([cls, patchEmbeddings], 1);
    const pos = this.positionalEmbeddingFor(grid);
    const x1 = reshape(addRows(reshape(x0, [b, tokens * width]), reshape(pos, [tokens * width])), [b, tokens, width]);
    const x = this.lnPost.forward(this.transformer.forward(this.lnPre.forward(x1), false, attentionMaps, explained));
    const clsOut = reshape(slice(x, 1, 0, 1), [b, width]);
    return { global: matmul(clsOut, this.proj), patches: slice(x, 1, 1, tokens), grid };
  }

  /** Dense features for segmentation: ln_post(patch tokens) @ proj (the tokens already went through ln_post). */
  denseFeatures(features: VisionFeatures): Tensor {
    return matmul(features.patches, this.proj);
  }

  /**
   * The positional embedding for a grid of another size: the patch part resized by bicubic interpolation as the
   * reference calls it, F.interpolate(scale_factor=((w0 + 0.1) / g, (h0 + 0.1) / g)), the CLS position kept.
   */
  private positionalEmbeddingFor([h0, w0]: [number, number]): Tensor {
    const g = this.trainedGrid;
    if (h0 === g && w0 === g) return this.positionalEmbedding;
    const width = this.config.width;
    const clsPos = slice(this.positionalEmbedding, 0, 0, 1);
    const gridPos = reshape(transpose(slice(this.positionalEmbedding, 0, 1, g * g + 1)), [width, g, g]);
    // The reference passes (w0, h0) to the (H, W) axes; crops are square, so both orders agree there.
    const resized = bicubicResize(gridPos, w0, h0, { scaleH: (w0 + 0.1) / g, scaleW: (h0 + 0.1) / g });
    return concat([clsPos, transpose(reshape(resized, [width, h0 * w0]))], 0);
  }
}
