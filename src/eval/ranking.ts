/**
 * Ranking on the host, from similarity matrices: top-k both ways and, for paired images and captions, Recall@K
 * both ways (COSMOS-SPEC section 7). Pure functions: the page sorts with them too.
 */
export interface Match {
  index: number;
  score: number;
}

export type RetrievalDirection = 'image-to-text' | 'text-to-image';

export interface Recall {
  /** Fraction of images whose own caption is among their k most similar captions, for each k asked. */
  imageToText: number[];
  /** Fraction of captions whose own image is among their k most similar images. */
  textToImage: number[];
}

/** The [cols x rows] transpose of a row-major [rows x cols] matrix. */
export function transposed(scores: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = scores[r * cols + c]!;
  return out;
}

/** For each row of a row-major [rows x cols] matrix, its k highest columns, best first (ties: lower index first). */
export function topK(scores: Float32Array, rows: number, cols: number, k: number): Match[][] {
  return Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, index) => ({ index, score: scores[r * cols + index]! }))
      .sort((a, b) => b.score - a.score || a.index - b.index)
      .slice(0, k),
  );
}

/**
 * Recall@k of n pairs, image i with caption i, from their [n x n] similarity matrix (images by captions), one
 * fraction per k: image-to-text ranks each image's captions (rows), text-to-image each caption's images (columns).
 * The rank of a pair is the number of other candidates scoring at least as high: ties count against it, so a
 * model that scores everything alike does not look perfect.
 */
export function recallAtK(similarity: Float32Array, n: number, ks: readonly number[], direction: RetrievalDirection = 'image-to-text'): number[] {
  if (similarity.length !== n * n) throw new Error(`recall: a ${n} x ${n} similarity matrix has ${n * n} values, got ${similarity.length}`);
  const scores = direction === 'image-to-text' ? similarity : transposed(similarity, n, n);
  const ranks = Array.from({ length: n }, (_, i) => {
    const own = scores[i * n + i]!;
    let rank = 0;
    for (let j = 0; j < n; j++) if (j !== i && scores[i * n + j]! >= own) rank++;
    return rank;
  });
  return ks.map((k) => ranks.filter((rank) => rank < k).length / n);
}

/** Recall@k both ways. */
export function recallBothWays(similarity: Float32Array, n: number, ks: readonly number[]): Recall {
  return { imageToText: recallAtK(similarity, n, ks, 'image-to-text'), textToImage: recallAtK(similarity, n, ks, 'text-to-image') };
}
