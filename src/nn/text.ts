/**
 * OpenCLIP's text tower: token_embedding + positional_embedding -> causal transformer -> ln_final.
 * Global feature = the token at the EOT position (argmax of the ids) times text_projection; text tokens = all
 * context positions after ln_final, padding included. Its parameters sit at the model's root, as in OpenCLIP.
 */
import { addRows } from '../tensor/ops/elementwise.ts';
import { embedding, gatherRows } from '../tensor/ops/embedding.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { reshape, slice } from '../tensor/ops/shape.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';
import type { TextConfig } from './config.ts';
import type { LayerNorm } from './layers.ts';
import type { Explained, Transformer } from './transformer.ts';

export interface TextFeatures {
  /** [B, embed]: the EOT token after ln_final, times text_projection (not normalized). */
  global: Tensor;
  /** [B, context, width]: every position after ln_final (fewer when only `global` was asked for). */
  tokens: Tensor;
}

/**
 * What a caller needs of the text tower: every position's features (the pooler's keys, the token maps), or only
 * the global feature. Under the causal mask a position sees none after it, so for the global feature alone the
 * tower runs on the positions up to the batch's last EOT: the same numbers for a fraction of the work.
 */
export type TextOutputs = 'tokens' | 'global';

export interface TextTowerParts {
  tokenEmbedding: Tensor;
  positionalEmbedding: Tensor;
  transformer: Transformer;
  lnFinal: LayerNorm;
  textProjection: Tensor;
}

/** Index of the EOT token in each row: the position of the largest id (EOT 49407 is the largest). */
export function eotPositions(ids: Int32Array, contextLength: number): Int32Array {
  const rows = ids.length / contextLength;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let t = 1; t < contextLength; t++) if (ids[r * contextLength + t]! > ids[r * contextLength + best]!) best = t;
    out[r] = r * contextLength + best;
  }
  return out;
}

/** One flat array of token ids from rows (or arrays of several rows), in order. */
function concatRows(rows: readonly Int32Array[]): Int32Array {
  const out = new Int32Array(rows.reduce((n, r) => n + r.length, 0));
  let offset = 0;
  for (const r of rows) {
    out.set(r, offset);
    offset += r.length;
  }
  return out;
}

/** The first `used` of every row of `contextLength` ids. */
function truncateRows(ids: Int32Array, contextLength: number, used: number): Int32Array {
  const rows = ids.length / contextLength;
  const out = new Int32Array(rows * used);
  for (let r = 0; r < rows; r++) out.set(ids.subarray(r * contextLength, r * contextLength + used), r * used);
  return out;
}

/**
 * rows: host token ids of `contextLength` each (the tokenizer's output); an array may hold several rows.
 * `explained`: see Transformer.forward.
 */
export function encodeTextTower(
  parts: TextTowerParts,
  config: TextConfig,
  rows: readonly Int32Array[],
  outputs: TextOutputs = 'tokens',
  explained?: Explained,
): TextFeatures {
  const { contextLength, width } = config;
  const all = rows.length === 1 ? rows[0]! : concatRows(rows);
  const b = all.length / contextLength;
  if (!Number.isInteger(b)) throw new Error(`Token ids: ${all.length} is not a multiple of the context length ${contextLength}`);
  const lastEot = outputs === 'global' ? Math.max(...Array.from(eotPositions(all, contextLength), (p, r) => p - r * contextLength)) : contextLength - 1;
  const t = lastEot + 1;
  const ids = t === contextLength ? all : truncateRows(all, contextLength, t);
  const idTensor = fromArray(ids, [b, t], 'i32');
  const x0 = embedding(idTensor, parts.tokenEmbedding, ids);
  const positions = t === contextLength ? parts.positionalEmbedding : slice(parts.positionalEmbedding, 0, 0, t);
  const x1 = reshape(addRows(reshape(x0, [b, t * width]), reshape(positions, [t * width])), [b, t, width]);
  const tokens = parts.lnFinal.forward(parts.transformer.forward(x1, true, undefined, explained));
  const eot = eotPositions(ids, t);
  // Gathering rows is an embedding lookup into the token features: its backward scatters into them.
  const eotFeatures = gatherRows(reshape(tokens, [b * t, width]), eot);
  return { global: matmul(eotFeatures, parts.textProjection), tokens };
}
