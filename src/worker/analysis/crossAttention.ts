/**
 * The COSMOS heatmaps (COSMOS-SPEC section 9) of one image and one caption: the patch-wise map is
 * visual.attn_cross_pool's weights of the caption's query over the image patches, the token-wise map is
 * text_attn_cross_pool's weights of the image's query over the caption's tokens (padding included, as the pooler
 * attends to it). A long caption's sentences are encoded too, each giving its own patch map, in the same pass.
 */
import type { CosmosModel } from '../../cosmos/model.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { sentencesOf } from '../../data/textCrops.ts';
import { embed } from '../../eval/embed.ts';
import type { AttentionResult, ImageInput } from '../protocol.ts';
import { prepareImage, tokenStrings, type SceneSource } from './inputs.ts';

export async function crossAttention(
  model: CosmosModel,
  scenes: SceneSource,
  tokenizer: ClipTokenizer,
  input: ImageInput,
  caption: string,
): Promise<AttentionResult> {
  const text = caption.trim();
  if (!text) throw new Error('Type a caption: the maps show how the image and the caption attend to each other.');
  const image = prepareImage(scenes, input, model.config.vision.imageSize);
  const sentences = sentencesOf(text);
  // One sentence is the caption itself: its map would repeat the caption's.
  const perSentence = sentences.length > 1 ? sentences : [];
  const ids = tokenizer.rowsFor([text, ...perSentence], model.config.text);
  const out = await embed(model, [image.pixels], ids, { attention: true });
  return {
    kind: 'attention',
    image: image.display,
    grid: out.grid,
    tokens: tokenStrings(tokenizer, ids[0]!),
    patchHeads: out.imageAttentionHeads![0]![0]!,
    patchMean: out.imageAttention![0]![0]!,
    tokenHeads: out.textAttentionHeads![0]![0]!,
    tokenMean: out.textAttention![0]![0]!,
    sentences: perSentence.map((sentence, i) => ({ text: sentence, patchMean: out.imageAttention![0]![i + 1]! })),
  };
}
