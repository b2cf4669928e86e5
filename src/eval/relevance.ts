/**
 * Gradient-weighted attention relevance (Chefer, Gur & Wolf, "Generic Attention-model Explainability for Interpreting
 * Bi-Modal and Encoder-Decoder Transformers", ICCV 2021), as their CLIP recipe computes it. The score explained is
 * logits_per_image = exp(logit_scale) * cos(image, text). Per tower, with A_l block l's attention probabilities
 * (heads x tokens x tokens) and G_l the score's gradient with respect to them: R = I, and for every block l from the
 * start layer on, R = R + mean over heads of max(G_l * A_l, 0), times R. The image map is R's CLS row over the
 * patches; the text map is R's EOT row (the argmax of the ids) over all context positions.
 *
 * One forward of a tower serves every score it is explained for (the tape stays between the backward passes), and a
 * pass from block `from` gives the maps of every start layer from `from` on: only one row of R is wanted, and row r
 * of (I + Ā_{L-1}) ... (I + Ā_K) builds up from the left, the last block first, passing each start layer on the way.
 */
import type { ClipModel } from '../cosmos/model.ts';
import { eotPositions } from '../nn/text.ts';
import type { Explained } from '../nn/transformer.ts';
import { engine } from '../tensor/engine.ts';
import { exp } from '../tensor/ops/activation.ts';
import { scaleBy } from '../tensor/ops/elementwise.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { positiveHeadMean } from '../tensor/ops/relevance.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { gradients } from '../tensor/tape.ts';
import { type Tensor, fromArray } from '../tensor/tensor.ts';
import { imageEmbeddings, textEmbeddings } from './batched.ts';

/** The first block each tower's relevance starts from (the recipe's default: the last block of each). */
export interface StartLayers {
  vision: number;
  text: number;
}

export interface PairRelevance {
  /** [image][text][start layer - from.vision][patch]: R_vision's CLS row over the patches. */
  image: Float32Array[][][];
  /** [image][text][start layer - from.text][position]: R_text's EOT row over every context position. */
  text: Float32Array[][][];
  /** The patch grid of the image maps (rows, columns). */
  grid: [number, number];
  /** [image][text]: the scores explained, exp(logit_scale) * cos(image, text). */
  logits: Float32Array[];
}

/** Each tower's last block: the recipe's start layer. */
export const lastBlocks = (model: ClipModel): StartLayers => ({ vision: model.config.vision.layers - 1, text: model.config.text.layers - 1 });

/** A start layer outside a tower's blocks, in one sentence. */
export function checkStartLayers(model: ClipModel, from: StartLayers): void {
  for (const tower of ['vision', 'text'] as const) {
    const blocks = model.config[tower].layers;
    if (!Number.isInteger(from[tower]) || from[tower] < 0 || from[tower] >= blocks) {
      throw new Error(`start layer ${from[tower]}: the ${tower} tower has ${blocks} blocks, so the start layer is one of 0 to ${blocks - 1}`);
    }
  }
}

/**
 * Row `row` of R for each start layer, given each block's term mean_heads(max(G * A, 0)) as a row-major
 * [tokens x tokens] array, first block first: rows[l] is the row of (I + Ā_last) ... (I + Ā_l), in float64.
 */
export function relevanceRows(terms: readonly Float32Array[], tokens: number, row: number): Float64Array[] {
  let u = new Float64Array(tokens);
  u[row] = 1;
  const rows: Float64Array[] = new Array(terms.length);
  for (let l = terms.length - 1; l >= 0; l--) {
    const term = terms[l]!;
    if (term.length !== tokens * tokens) throw new Error(`relevance: block term ${l} has ${term.length} values for ${tokens} tokens`);
    const next = Float64Array.from(u);
    for (let i = 0; i < tokens; i++) {
      const ui = u[i]!;
      if (ui === 0) continue;
      for (let j = 0; j < tokens; j++) next[j]! += ui * term[i * tokens + j]!;
    }
    u = next;
    rows[l] = u;
  }
  return rows;
}

/**
 * One tower explained for several scores: `forward` runs the tower on one input, collecting `explained`, and returns
 * its global feature [1, E] and the row of R the map is read from (CLS, or EOT); the scores are exp(logit_scale) times
 * the cosines of that feature with each of `targets` [T, E] (normalized embeddings of the other tower, constants).
 * Returns the scores, and per target [start layer - from] R's row over the tower's tokens.
 */
async function towerRelevance(
  model: ClipModel,
  forward: (explained: Explained) => { global: Tensor; row: number },
  targets: Tensor,
  from: number,
): Promise<{ scores: Float32Array; rows: Float64Array[][] }> {
  if (!engine.gradEnabled) throw new Error('relevance differentiates the model: it cannot run under noGrad');
  return scopeAsync(async () => {
    const explained: Explained = { from, probabilities: [] };
    const { global, row } = forward(explained);
    const scores = scaleBy(matmul(l2Normalize(global), targets, { transB: true }), exp(model.logitScale));
    const tokens = explained.probabilities[0]!.shape[2]!;
    const count = targets.shape[0]!;
    const rows: Float64Array[][] = [];
    for (let t = 0; t < count; t++) {
      const terms = await scopeAsync(() => {
        const pick = new Float32Array(count);
        pick[t] = 1;
        const grads = gradients(scores, explained.probabilities, fromArray(pick, scores.shape));
        const blockTerms = grads.map((g, l) => positiveHeadMean(g, explained.probabilities[l]!));
        return Promise.all(blockTerms.map((term) => term.readFloat()));
      });
      rows.push(relevanceRows(terms, tokens, row));
    }
    return { scores: await scores.readFloat(), rows };
  });
}

/**
 * The relevance of an image's patches for its score with each text: maps [text][start layer - from][patch], and the
 * scores [text].
 */
export async function imageRelevance(
  model: ClipModel,
  pixels: Float32Array,
  texts: Tensor,
  from: number,
): Promise<{ maps: Float32Array[][]; scores: Float32Array }> {
  const s = model.config.vision.imageSize;
  const { rows, scores } = await towerRelevance(
    model,
    (explained) => ({ global: model.encodeImage(fromArray(pixels, [1, 3, s, s]), undefined, explained).global, row: 0 }),
    texts,
    from,
  );
  // Column 0 is CLS itself.
  return { maps: rows.map((layers) => layers.map((r) => Float32Array.from(r.subarray(1)))), scores };
}

/** The relevance of a text's positions for its score with each image: [image][start layer - from][position]. */
export async function textRelevance(model: ClipModel, ids: Int32Array, images: Tensor, from: number): Promise<Float32Array[][]> {
  const context = model.config.text.contextLength;
  // Under the causal mask nothing after EOT reaches it: the tower runs up to EOT, and the later positions are 0.
  const eot = eotPositions(ids, context)[0]!;
  const { rows } = await towerRelevance(model, (explained) => ({ global: model.encodeText([ids], 'global', explained).global, row: eot }), images, from);
  return rows.map((layers) =>
    layers.map((r) => {
      const full = new Float32Array(context);
      full.set(r);
      return full;
    }),
  );
}

/**
 * Both maps for every (image, text) pair. images: CLIP-preprocessed [3, S, S] arrays at the model's image size; ids:
 * token rows of the context length. Each image's tower runs once for all texts, each text's once for all images.
 */
export async function explainPairs(model: ClipModel, images: readonly Float32Array[], ids: readonly Int32Array[], from: StartLayers): Promise<PairRelevance> {
  if (images.length === 0 || ids.length === 0) throw new Error('relevance needs at least one image and one text');
  checkStartLayers(model, from);
  const { imageSize, patchSize } = model.config.vision;
  return scopeAsync(async () => {
    const imageTargets = imageEmbeddings(model, images);
    const textTargets = textEmbeddings(model, ids);
    const image: Float32Array[][][] = [];
    const logits: Float32Array[] = [];
    for (const pixels of images) {
      const { maps, scores } = await imageRelevance(model, pixels, textTargets, from.vision);
      image.push(maps);
      logits.push(scores);
    }
    const byText: Float32Array[][][] = [];
    for (const row of ids) byText.push(await textRelevance(model, row, imageTargets, from.text));
    const text = images.map((_, i) => byText.map((perImage) => perImage[i]!));
    return { image, text, grid: [imageSize / patchSize, imageSize / patchSize] as [number, number], logits };
  });
}
