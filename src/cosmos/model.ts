/**
 * The COSMOS model (student; the EMA teacher is another instance): OpenCLIP's CLIP with COSMOS's additions,
 * under the reference's parameter names so that a released state_dict loads without renaming.
 *
 *   visual.*                          vision tower, plus visual.attn_cross_pool (caption query -> image patches)
 *   token_embedding, positional_embedding, transformer.*, ln_final, text_projection    text tower (at the root)
 *   logit_scale, distill_logit_scale  temperatures, stored as logs
 *   image_token_mapping, text_token_mapping    Linear maps of tower tokens into the joint space
 *   text_attn_cross_pool.*            image query -> caption tokens
 */
import { normalInit } from '../nn/init.ts';
import { rng } from '../data/random.ts';
import { Embedding, LayerNorm, Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { AttentionalCrossPooler } from '../nn/pooler.ts';
import { type TextFeatures, type TextOutputs, encodeTextTower } from '../nn/text.ts';
import { Transformer } from '../nn/transformer.ts';
import { type VisionFeatures, VisionTransformer } from '../nn/vision.ts';
import type { AttentionOutput } from '../tensor/ops/attention.ts';
import { add } from '../tensor/ops/elementwise.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { CosmosConfig } from './config.ts';

/** ln(1 / 0.07): CLIP's initial temperature, for both logit scales. */
export const INITIAL_LOGIT_SCALE = Math.log(1 / 0.07);

export class CosmosModel extends Module {
  readonly positionalEmbedding: Tensor;
  readonly textProjection: Tensor;
  readonly logitScale: Tensor;
  readonly distillLogitScale: Tensor;
  readonly visual: VisionTransformer;
  readonly transformer: Transformer;
  readonly tokenEmbedding: Tensor;
  readonly lnFinal: LayerNorm;
  readonly imageTokenMapping: Linear;
  readonly textTokenMapping: Linear;
  readonly textAttnCrossPool: AttentionalCrossPooler;
  readonly visualAttnCrossPool: AttentionalCrossPooler;

  /** `seed` draws the initial weights; null leaves them at zero, for a checkpoint to fill (no host-side init). */
  constructor(
    readonly config: CosmosConfig,
    seed: number | null = 0,
  ) {
    super();
    const random = seed === null ? null : rng(seed);
    const { embedDim: e, text: t, vision: v } = config;
    // The text tower as OpenCLIP's TextTransformer.init_parameters draws it; the vision tower, the poolers and the
    // token mappings keep PyTorch's defaults (COSMOS-SPEC section 2, Initialization).
    this.positionalEmbedding = this.parameter('positional_embedding', [t.contextLength, t.width], normalInit(0.01), random);
    this.textProjection = this.parameter('text_projection', [t.width, e], normalInit(t.width ** -0.5), random);
    this.logitScale = this.parameter('logit_scale', [], { constant: INITIAL_LOGIT_SCALE }, random);
    this.distillLogitScale = this.parameter('distill_logit_scale', [], { constant: INITIAL_LOGIT_SCALE }, random);
    this.visual = this.module('visual', new VisionTransformer(v, e, random, { attentionalPool: true }));
    this.transformer = this.module('transformer', new Transformer(t.width, t.layers, t.heads, t.mlpWidth, random, 'openclip-text'));
    this.tokenEmbedding = this.module('token_embedding', new Embedding(t.vocabSize, t.width, random, normalInit(0.02))).weight;
    this.lnFinal = this.module('ln_final', new LayerNorm(t.width));
    // The reference's order: its optimizer numbers the parameters in this order, and a training checkpoint's
    // AdamW state must land on the same ones.
    this.textAttnCrossPool = this.module('text_attn_cross_pool', new AttentionalCrossPooler(e, t.attnPoolerHeads, random));
    this.imageTokenMapping = this.module('image_token_mapping', new Linear(v.width, e, random));
    this.textTokenMapping = this.module('text_token_mapping', new Linear(t.width, e, random));
    this.visualAttnCrossPool = this.visual.attnCrossPool!;
  }

  /** images [B, 3, H, W], CLIP-normalized; `attentionMaps` collects each layer's self-attention weights. */
  encodeImage(images: Tensor, attentionMaps?: Tensor[]): VisionFeatures {
    return this.visual.forward(images, attentionMaps);
  }

  /**
   * Token id rows of the context length, on the host (the tokenizer's rowsFor); arrays of several rows are read in
   * order. With 'global' only the global features are wanted: the tower stops at the batch's last EOT.
   */
  encodeText(rows: readonly Int32Array[], outputs: TextOutputs = 'tokens'): TextFeatures {
    return encodeTextTower(this, this.config.text, rows, outputs);
  }

  /** Image patch tokens mapped into the joint space: the keys of visual.attn_cross_pool. */
  imageTokens(image: VisionFeatures): Tensor {
    return this.imageTokenMapping.forward(image.patches);
  }

  /** Text tokens mapped into the joint space: the keys of text_attn_cross_pool. */
  textTokens(text: TextFeatures): Tensor {
    return this.textTokenMapping.forward(text.tokens);
  }

  /** An image's global embedding [B, E] attending over caption tokens [B, T, E] (token-wise map). */
  imageAttendsText(imageGlobal: Tensor, textTokens: Tensor, weights: 'none' | 'mean' | 'per-head' = 'none'): AttentionOutput {
    return this.textAttnCrossPool.forward(imageGlobal, textTokens, weights);
  }

  /** A caption's global embedding [B, E] attending over image patch tokens [B, N, E] (patch-wise map). */
  textAttendsImage(textGlobal: Tensor, imageTokens: Tensor, weights: 'none' | 'mean' | 'per-head' = 'none'): AttentionOutput {
    return this.visualAttnCrossPool.forward(textGlobal, imageTokens, weights);
  }

  /** COSMOS cross-modal embedding: normalize(global + pooled), for img_x and txt_x. */
  crossModalEmbedding(global: Tensor, pooled: Tensor): Tensor {
    return l2Normalize(add(global, pooled));
  }
}
