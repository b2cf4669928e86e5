/**
 * COSMOS text crops (COSMOS-SPEC section 3): from a caption's sentences, 2 global crops, each n ~ U{1..5}
 * sentences drawn without replacement and joined with ". ", and N local crops of one sentence each, drawn
 * without replacement while sentences last (repeats only when the caption has fewer than N).
 */

/** Splits a long caption into sentences on newlines and '.' [inferred by the spec], dropping empty pieces. */
export function sentencesOf(caption: string): string[] {
  return caption
    .split(/[\n.]/)
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** k distinct indices of 0..n-1, in draw order (a partial Fisher-Yates shuffle). */
function drawWithoutReplacement(random: () => number, n: number, k: number): number[] {
  const pool = Array.from({ length: n }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (n - i));
    [pool[i], pool[j]] = [pool[j]!, pool[i]!];
  }
  return pool.slice(0, k);
}

export const MAX_GLOBAL_SENTENCES = 5;

export function textCrops(random: () => number, caption: string, localCount: number): string[] {
  const sentences = sentencesOf(caption);
  if (sentences.length === 0) return Array.from({ length: 2 + localCount }, () => caption.trim());
  const globals = [0, 1].map(() => {
    const n = Math.min(1 + Math.floor(random() * MAX_GLOBAL_SENTENCES), sentences.length);
    return drawWithoutReplacement(random, sentences.length, n)
      .map((i) => sentences[i])
      .join('. ');
  });
  const locals: string[] = [];
  while (locals.length < localCount) {
    const take = Math.min(localCount - locals.length, sentences.length);
    locals.push(...drawWithoutReplacement(random, sentences.length, take).map((i) => sentences[i]!));
  }
  return [...globals, ...locals];
}
