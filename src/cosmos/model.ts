/**
 * OpenCLIP's CLIP, and COSMOS on top of it (the reference's CLIP(cosmos=True); the EMA teacher is another instance),
 * under the reference's parameter names so that a released state_dict loads without renaming.
 *
 *   visual.*                          vision tower (COSMOS: plus visual.attn_cross_pool, caption query -> image patches)
 *   token_embedding, positional_embedding, transformer.*, ln_final, text_projection    text tower (at the root)
 *   logit_scale                       CLIP's temperature, stored as a log
 * and COSMOS's parts, absent from a plain CLIP model:
 *   distill_logit_scale               the distillation temperature
 *   image_token_mapping, text_token_mapping    Linear maps of tower tokens into the joint space
 *   text_attn_cross_pool.*            image query -> caption tokens
 */
import { type Random, rng } from '../data/random.ts';
import { normalInit } from '../nn/init.ts';
import { Embedding, LayerNorm, Linear } from '../nn/layers.ts';
import { Module } from '../nn/module.ts';
import { AttentionalCrossPooler } from '../nn/pooler.ts';
import { type TextFeatures, type TextOutputs, encodeTextTower } from '../nn/text.ts';
import { type Explained, Transformer } from '../nn/transformer.ts';
import { type VisionFeatures, VisionTransformer } from '../nn/vision.ts';
import { gpu } from '../tensor/engine.ts';
import type { AttentionOutput } from '../tensor/ops/attention.ts';
import { add } from '../tensor/ops/elementwise.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { CosmosConfig } from './config.ts';

/** ln(1 / 0.07): CLIP's initial temperature, for both logit scales. */
export const INITIAL_LOGIT_SCALE = Math.log(1 / 0.07);

/** Why a plain CLIP model shows no cross-attention maps. */
export const NO_CROSS_ATTENTION = 'a plain CLIP model has no cross-attention poolers (COSMOS adds them), so no patch-wise or token-wise maps';

/** The state_dict names of COSMOS's parts: what a plain CLIP checkpoint lacks. */
export const isCosmosPart = (name: string): boolean =>
  /^(distill_logit_scale$|visual\.attn_cross_pool\.|text_attn_cross_pool\.|image_token_mapping\.|text_token_mapping\.)/.test(name);

/** What COSMOS adds to CLIP: the distillation temperature, the token mappings and the two cross-attention poolers. */
export class CosmosParts {
  constructor(
    readonly distillLogitScale: Tensor,
    readonly imageTokenMapping: Linear,
    readonly textTokenMapping: Linear,
    readonly visualAttnCrossPool: AttentionalCrossPooler,
    readonly textAttnCrossPool: AttentionalCrossPooler,
  ) {}

  /** Image patch tokens mapped into the joint space: the keys of visual.attn_cross_pool. */
  imageTokens(image: VisionFeatures): Tensor {
    return this.imageTokenMapping.forward(image.patches);
  }

  /** Text tokens mapped into the joint space: the keys of text_attn_cross_pool. */
  textTokens(text: TextFeatures): Tensor {
    return this.textTokenMapping.forward(text.tokens);
  }

  /** Image global embeddings [R·B, E] attending over caption tokens [B, T, E] (token-wise map). */
  imageAttendsText(imageGlobal: Tensor, textTokens: Tensor, weights: 'none' | 'mean' | 'per-head' = 'none'): AttentionOutput {
    return this.textAttnCrossPool.forward(imageGlobal, textTokens, weights);
  }

  /** Caption global embeddings [R·B, E] attending over image patch tokens [B, N, E] (patch-wise map). */
  textAttendsImage(textGlobal: Tensor, imageTokens: Tensor, weights: 'none' | 'mean' | 'per-head' = 'none'): AttentionOutput {
    return this.visualAttnCrossPool.forward(textGlobal, imageTokens, weights);
  }

  /** COSMOS cross-modal embedding: normalize(global + pooled), for img_x and txt_x. */
  crossModalEmbedding(global: Tensor, pooled: Tensor): Tensor {
    return l2Normalize(add(global, pooled));
  }
}

export interface ModelOptions {
  /** With COSMOS's parts (the reference's CLIP(cosmos=True)); without, OpenCLIP's plain CLIP. */
  cosmos: boolean;
  /** Draws the initial weights; null leaves the random ones at zero for a checkpoint to fill (no host-side init). */
  random: Random | null;
  /**
   * Draws COSMOS's parts alone (`random` by default): the parts added to a plain CLIP checkpoint's towers start as
   * the reference starts them while the towers wait for the checkpoint.
   */
  cosmosRandom?: Random | null;
}

export class ClipModel extends Module {
  readonly positionalEmbedding: Tensor;
  readonly textProjection: Tensor;
  readonly logitScale: Tensor;
  readonly visual: VisionTransformer;
  readonly transformer: Transformer;
  readonly tokenEmbedding: Tensor;
  readonly lnFinal: LayerNorm;
  /** COSMOS's additions; null for a plain CLIP model. */
  readonly cosmos: CosmosParts | null;

  constructor(
    readonly config: CosmosConfig,
    { cosmos, random, cosmosRandom = random }: ModelOptions,
  ) {
    super();
    const { embedDim: e, text: t, vision: v } = config;
    // The text tower as OpenCLIP's TextTransformer.init_parameters draws it; the vision tower, the poolers and the
    // token mappings keep PyTorch's defaults (COSMOS-SPEC section 2, Initialization). Registered in the reference's
    // order: its optimizer numbers the parameters in this order, and a training checkpoint's AdamW state must land
    // on the same ones.
    this.positionalEmbedding = this.parameter('positional_embedding', [t.contextLength, t.width], normalInit(0.01), random);
    this.textProjection = this.parameter('text_projection', [t.width, e], normalInit(t.width ** -0.5), random);
    this.logitScale = this.parameter('logit_scale', [], { constant: INITIAL_LOGIT_SCALE }, random);
    const distillLogitScale = cosmos ? this.parameter('distill_logit_scale', [], { constant: INITIAL_LOGIT_SCALE }, cosmosRandom) : null;
    this.visual = this.module('visual', new VisionTransformer(v, e, random, { attentionalPool: cosmos, poolRandom: cosmosRandom }));
    const textNumerics = { activation: t.activation, layerNormEps: t.layerNormEps };
    this.transformer = this.module('transformer', new Transformer(t.width, t.layers, t.heads, t.mlpWidth, random, { init: 'openclip-text', ...textNumerics }));
    this.tokenEmbedding = this.module('token_embedding', new Embedding(t.vocabSize, t.width, random, normalInit(0.02))).weight;
    this.lnFinal = this.module('ln_final', new LayerNorm(t.width, t.layerNormEps));
    if (distillLogitScale && this.visual.attnCrossPool) {
      // After ln_final, in the reference's order.
      const textPool = this.module('text_attn_cross_pool', new AttentionalCrossPooler(e, t.attnPoolerHeads, cosmosRandom));
      const imageMapping = this.module('image_token_mapping', new Linear(v.width, e, cosmosRandom));
      const textMapping = this.module('text_token_mapping', new Linear(t.width, e, cosmosRandom));
      this.cosmos = new CosmosParts(distillLogitScale, imageMapping, textMapping, this.visual.attnCrossPool, textPool);
    } else {
      this.cosmos = null;
    }
  }

  /**
   * images [B, 3, H, W], CLIP-normalized; `attentionMaps` collects each layer's self-attention weights, `explained`
   * the probabilities relevance differentiates (Transformer.forward).
   */
  encodeImage(images: Tensor, attentionMaps?: Tensor[], explained?: Explained): VisionFeatures {
    return this.visual.forward(images, attentionMaps, explained);
  }

  /**
   * Token id rows of the context length, on the host (the tokenizer's rowsFor); arrays of several rows are read in
   * order. With 'global' only the global features are wanted: the tower stops at the batch's last EOT. `explained`:
   * see Transformer.forward.
   */
  encodeText(rows: readonly Int32Array[], outputs: TextOutputs = 'tokens', explained?: Explained): TextFeatures {
    return encodeTextTower(this, this.config.text, rows, outputs, explained);
  }

  /** An exact copy, parameter for parameter on the GPU: how the EMA teacher starts (the reference deep-copies). */
  copy(): this {
    const twin = new ClipModel(this.config, { cosmos: this.cosmos !== null, random: null });
    const own = this.parameters();
    for (const [i, t] of twin.parameters().entries()) gpu().copy(own[i]!.range, 0, t.range, 0, t.byteSize);
    return twin as this;
  }
}

/** A model with COSMOS's parts: what training, the loss and the cross-attention maps need. */
export type CosmosModel = ClipModel & { readonly cosmos: CosmosParts };

export function isCosmosModel(model: ClipModel): model is CosmosModel {
  return model.cosmos !== null;
}

/** A COSMOS model as the reference initializes one to train from scratch, drawn from `seed`. */
export function cosmosModel(config: CosmosConfig, seed: number): CosmosModel {
  return new ClipModel(config, { cosmos: true, random: rng(seed) }) as CosmosModel;
}
