/**
 * COSMOS text crops (COSMOS-SPEC section 3): from a caption's sentences, 2 global crops, each n ~ U{1..5}
 * sentences drawn without replacement and joined with ". ", and N local crops of one sentence each, drawn
 * without replacement while sentences last (repeats only when the caption has fewer than N). A webdataset sample
 * with a caption list (its .json, shardCaptions.ts) is cropped as the reference's `textcrop` mode crops it.
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

/**
 * The reference's random_sample_from_list: `k` items drawn without replacement while the list lasts; for more, the
 * whole list as many times as it fits, in its order, then the rest drawn.
 */
function sampleFromList(random: () => number, list: readonly string[], k: number): string[] {
  const whole = Math.floor(k / list.length);
  const rest = drawWithoutReplacement(random, list.length, k - whole * list.length).map((i) => list[i]!);
  return [...Array.from({ length: whole }, () => list).flat(), ...rest];
}

/**
 * Text crops of a caption list as the reference's `textcrop` mode draws them (src/training/data.py, sample_dict):
 * 2 global crops joining n ~ U{1..5} items with ". " (an item repeats only when n exceeds the list), then N local
 * crops of one item each.
 */
export function textCropsFromList(random: () => number, list: readonly string[], localCount: number): string[] {
  if (list.length === 0) throw new Error('text crops need at least one caption');
  const counts = [0, 1].map(() => 1 + Math.floor(random() * MAX_GLOBAL_SENTENCES));
  const globals = counts.map((n) => sampleFromList(random, list, n).join('. '));
  return [...globals, ...sampleFromList(random, list, localCount)];
}

/** What a sample's text crops come from: a caption (split into sentences) or a list of captions. */
export type TextCropSource = string | readonly string[];

export const cropsOf = (random: () => number, source: TextCropSource, localCount: number): string[] =>
  typeof source === 'string' ? textCrops(random, source, localCount) : textCropsFromList(random, source, localCount);
