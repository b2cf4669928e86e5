/**
 * Inference: normalized global embeddings, CLIP logits and both poolers' cross-attention maps
 * (plain encode_image / encode_text use no cross-attention; the maps are the explanation on top).
 */
import { type ClipModel, NO_CROSS_ATTENTION } from '../cosmos/model.ts';
import { noGradAsync } from '../tensor/engine.ts';
import { exp } from '../tensor/ops/activation.ts';
import { scaleBy } from '../tensor/ops/elementwise.ts';
import { gatherRows } from '../tensor/ops/embedding.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { reshape } from '../tensor/ops/shape.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { stackRows } from './batched.ts';

export interface EmbedOptions {
  /** Also compute the cross-attention maps of every (image, caption) pair (COSMOS models only). */
  attention?: boolean;
  /** Also compute the dense maps: cosines of each caption's embedding with the image's dense patch features. */
  dense?: boolean;
}

export interface EmbedOutput {
  imageEmbeddings: Float32Array[];
  textEmbeddings: Float32Array[];
  /** exp(logit_scale) * image . text, images by captions. */
  logits: Float32Array[];
  /** [image][caption]: visual.attn_cross_pool weights of the caption's query over the patch grid, mean over heads. */
  imageAttention?: Float32Array[][];
  /** [image][caption][head]: the same, per head. */
  imageAttentionHeads?: Float32Array[][][];
  /** [image][caption]: text_attn_cross_pool weights of the image's query over the caption's tokens, mean over heads. */
  textAttention?: Float32Array[][];
  textAttentionHeads?: Float32Array[][][];
  /** [image][caption]: cosines of the normalized caption embedding with the normalized dense features (SCLIP's). */
  denseMaps?: Float32Array[][];
  /** Patch grid of the image maps (rows, columns). */
  grid: [number, number];
}

/** Consecutive pieces of `width` values. */
function chunk(values: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: values.length / width }, (_, i) => values.subarray(i * width, (i + 1) * width));
}

/** [image][caption][head][position] from a flat [pair = image * nT + caption, head, 1, position] read-back. */
function pairMaps(values: Float32Array, nT: number, heads: number, positions: number): Float32Array[][][] {
  return chunk(values, nT * heads * positions).map((image) => chunk(image, heads * positions).map((pair) => chunk(pair, positions)));
}

/**
 * images: CLIP-preprocessed [3, S, S] arrays at the model's image size; ids: token rows of the context length.
 */
export async function embed(model: ClipModel, images: Float32Array[], ids: Int32Array[], options: EmbedOptions = {}): Promise<EmbedOutput> {
  const size = model.config.vision.imageSize;
  const context = model.config.text.contextLength;
  const nI = images.length;
  const nT = ids.length;
  if (nI === 0 || nT === 0) throw new Error('embed needs at least one image and one caption');
  return scopeAsync(() =>
    noGradAsync(async () => {
      const image = model.encodeImage(stackRows(images, [3, size, size]));
      const text = model.encodeText(ids, options.attention ? 'tokens' : 'global');
      const imageE = l2Normalize(image.global);
      const textE = l2Normalize(text.global);
      const logits = scaleBy(matmul(imageE, textE, { transB: true }), exp(model.logitScale));
      const e = model.config.embedDim;
      const out: EmbedOutput = {
        imageEmbeddings: chunk(await imageE.readFloat(), e),
        textEmbeddings: chunk(await textE.readFloat(), e),
        logits: chunk(await logits.readFloat(), nT),
        grid: image.grid,
      };
      const patches = image.grid[0] * image.grid[1];
      if (options.dense) {
        // [nI * N, E] x [nT, E]ᵀ: every patch of every image against every caption.
        const dense = l2Normalize(reshape(model.visual.denseFeatures(image), [nI * patches, e]));
        const cosines = await matmul(dense, textE, { transB: true }).readFloat();
        out.denseMaps = Array.from({ length: nI }, (_, i) =>
          Array.from({ length: nT }, (_, t) => Float32Array.from({ length: patches }, (_, p) => cosines[(i * patches + p) * nT + t]!)),
        );
      }
      if (!options.attention) return out;
      const parts = model.cosmos;
      if (!parts) throw new Error(`no cross-attention maps: ${NO_CROSS_ATTENTION}`);
      const pairImage = Int32Array.from({ length: nI * nT }, (_, p) => Math.floor(p / nT));
      const pairText = Int32Array.from({ length: nI * nT }, (_, p) => p % nT);
      const imageMaps = parts.textAttendsImage(gatherRows(text.global, pairText), gatherRows(parts.imageTokens(image), pairImage), 'per-head');
      const textMaps = parts.imageAttendsText(gatherRows(image.global, pairImage), gatherRows(parts.textTokens(text), pairText), 'per-head');
      out.imageAttentionHeads = pairMaps(await imageMaps.weights!.readFloat(), nT, model.config.vision.attnPoolerHeads, patches);
      out.textAttentionHeads = pairMaps(await textMaps.weights!.readFloat(), nT, model.config.text.attnPoolerHeads, context);
      out.imageAttention = out.imageAttentionHeads.map((row) => row.map(meanOverHeads));
      out.textAttention = out.textAttentionHeads.map((row) => row.map(meanOverHeads));
      return out;
    }),
  );
}

function meanOverHeads(heads: Float32Array[]): Float32Array {
  const mean = new Float32Array(heads[0]!.length);
  for (const h of heads) for (const [i, v] of h.entries()) mean[i]! += v / heads.length;
  return mean;
}
