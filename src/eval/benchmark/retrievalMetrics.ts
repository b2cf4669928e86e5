/**
 * Zero-shot retrieval with several captions per image, as CLIP_benchmark and the COSMOS reference score it: an image
 * retrieves text when any of its captions is among its k most similar captions (`text_retrieval_recall@k`), a
 * caption retrieves its image when that image is among its k most similar images (`image_retrieval_recall@k`).
 * A query's rank is the number of wrong candidates scoring at least as high as its best right one: ties count
 * against it, so a model that scores everything alike does not look perfect.
 */

export const RECALL_KS = [1, 5, 10] as const;

export type RetrievalMetrics = Record<`image_retrieval_recall@${(typeof RECALL_KS)[number]}` | `text_retrieval_recall@${(typeof RECALL_KS)[number]}`, number>;

/**
 * The rank of row `row` of a row-major block of scores (`cols` per row) whose right columns are `positives`:
 * how many other columns score at least as high as the best right one.
 */
export function rankOf(scores: Float32Array, row: number, cols: number, positives: readonly number[]): number {
  const base = row * cols;
  let best = -Infinity;
  for (const p of positives) best = Math.max(best, scores[base + p]!);
  let rank = 0;
  for (let j = 0; j < cols; j++) if (scores[base + j]! >= best) rank++;
  // Every right column scoring at least `best` was counted: the best one itself, and any tied with it.
  for (const p of positives) if (scores[base + p]! >= best) rank--;
  return rank;
}

/** The fraction of ranks under k, for each k. */
export function recallAtK(ranks: ArrayLike<number>, k: number): number {
  let hits = 0;
  for (let i = 0; i < ranks.length; i++) if (ranks[i]! < k) hits++;
  return ranks.length === 0 ? Number.NaN : hits / ranks.length;
}

/** CLIP_benchmark's names: images ranking captions is text retrieval, captions ranking images is image retrieval. */
export function retrievalMetrics(imageToTextRanks: ArrayLike<number>, textToImageRanks: ArrayLike<number>): RetrievalMetrics {
  const metrics = {} as RetrievalMetrics;
  for (const k of RECALL_KS) {
    metrics[`image_retrieval_recall@${k}`] = recallAtK(textToImageRanks, k);
    metrics[`text_retrieval_recall@${k}`] = recallAtK(imageToTextRanks, k);
  }
  return metrics;
}
