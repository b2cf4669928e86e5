/**
 * The Attention panel's "Relevance (gradient x attention)": Chefer, Gur & Wolf's relevance (src/eval/relevance.ts) of
 * one image with a caption and with each of its sentences, both towers, for every start block at once (one pass from
 * block 0 passes through them all), so that the panel's start-block slider needs no new request. Any model: COSMOS or
 * plain CLIP, demo, loaded or trained here.
 */
import type { ClipModel } from '../../cosmos/model.ts';
import { sentencesOf } from '../../data/textCrops.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { explainPairs } from '../../eval/relevance.ts';
import type { ImageInput, RelevanceResult } from '../protocol.ts';
import { prepareImage, type SceneSource, tokenStrings } from './inputs.ts';

export async function relevance(model: ClipModel, scenes: SceneSource, tokenizer: ClipTokenizer, input: ImageInput, caption: string): Promise<RelevanceResult> {
  const text = caption.trim();
  if (!text) throw new Error('Type a caption: relevance shows which patches and words make the image and the caption match.');
  const image = prepareImage(scenes, input, model.config.vision.imageSize);
  const sentences = sentencesOf(text);
  // One sentence is the caption itself: its maps would repeat the caption's.
  const texts = [text, ...(sentences.length > 1 ? sentences : [])];
  const ids = tokenizer.rowsFor(texts, model.config.text);
  const out = await explainPairs(model, [image.pixels], ids, { vision: 0, text: 0 });
  return {
    kind: 'relevance',
    image: image.display,
    grid: out.grid,
    texts: texts.map((t, i) => ({
      text: t,
      tokens: tokenStrings(tokenizer, ids[i]!),
      patches: out.image[0]![i]!,
      positions: out.text[0]![i]!,
      logit: out.logits[0]![i]!,
    })),
  };
}
