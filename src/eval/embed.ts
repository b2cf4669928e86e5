/**
 * Inference: normalized global embeddings, CLIP logits and both poolers' cross-attention maps
 * (plain encode_image / encode_text use no cross-attention; the maps are the explanation on top).
 */
import { type ClipModel, NO_CROSS_ATTENTION } from '../cosmos/model.ts';
import { noGradAsync } from '../tensor/engine.ts';
import { exp } from '../tensor/ops/activation.ts';
import { scaleBy } from '../tensor/ops/elementwise.ts';
import { embedding } from '../tensor/ops/embedding.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { reshape } from '../tensor/ops/shape.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';
import { stackRows } from './batched.ts';

export interface EmbedOptions {
  /** Also compute the cross-attention maps of every (image, caption) pair (COSMOS models only). */
  attention?: boolean;
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
  /** Patch grid of the image maps (rows, columns). */
  grid: [number, number];
}

/** Rows of `x` [n, ...rest] picked by `rows`: a gather, as an embedding lookup. */
function pickRows(x: Tensor, rows: Int32Array): Tensor {
  const [n, ...rest] = x.shape;
  const width = rest.reduce((a, b) => a * b, 1);
  const picked = embedding(fromArray(rows, [rows.length], 'i32'), reshape(x, [n!, width]), rows);
  return reshape(picked, [rows.length, ...rest]);
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
      const text = model.encodeText(ids);
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
      if (!options.attention) return out;
      const parts = model.cosmos;
      if (!parts) throw new Error(`no cross-attention maps: ${NO_CROSS_ATTENTION}`);
      const pairImage = Int32Array.from({ length: nI * nT }, (_, p) => Math.floor(p / nT));
      const pairText = Int32Array.from({ length: nI * nT }, (_, p) => p % nT);
      const patches = image.grid[0] * image.grid[1];
      const imageMaps = parts.textAttendsImage(pickRows(text.global, pairText), pickRows(parts.imageTokens(image), pairImage), 'per-head');
      const textMaps = parts.imageAttendsText(pickRows(image.global, pairImage), pickRows(parts.textTokens(text), pairText), 'per-head');
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
