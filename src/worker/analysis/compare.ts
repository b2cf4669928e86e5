/**
 * The paper's argument at toy scale: the COSMOS and the CLIP demo models, trained alike for the same wall clock, on
 * the same image and caption. For each, the caption's cross-attention map (COSMOS only: a CLIP model has no
 * trained pooler), its dense map (the cosines a CLIP-only model has too), per sentence as well, and the logit of
 * the image and the caption.
 */
import { type ClipModel, isCosmosModel } from '../../cosmos/model.ts';
import { sentencesOf } from '../../data/textCrops.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { embed } from '../../eval/embed.ts';
import type { CompareResult, ComparedModel, DemoName, ImageInput } from '../protocol.ts';
import { prepareImage, type SceneSource } from './inputs.ts';

export async function compareModels(
  models: Record<DemoName, ClipModel>,
  scenes: SceneSource,
  tokenizer: ClipTokenizer,
  input: ImageInput,
  caption: string,
): Promise<CompareResult> {
  const text = caption.trim();
  if (!text) throw new Error('Type a caption: the maps show where each model finds it in the image.');
  const sentences = sentencesOf(text);
  const perSentence = sentences.length > 1 ? sentences : [];
  const compared: ComparedModel[] = [];
  let shown: CompareResult['image'] | null = null;
  let grid: [number, number] = [0, 0];
  for (const name of ['cosmos', 'clip'] as const) {
    const model = models[name];
    const image = prepareImage(scenes, input, model.config.vision.imageSize);
    shown ??= image.display;
    const attention = name === 'cosmos' && isCosmosModel(model);
    const out = await embed(model, [image.pixels], tokenizer.rowsFor([text, ...perSentence], model.config.text), { attention, dense: true });
    grid = out.grid;
    const crossMap = (t: number) => out.imageAttention?.[0]?.[t] ?? null;
    compared.push({
      name,
      crossAttention: crossMap(0),
      dense: out.denseMaps![0]![0]!,
      sentences: perSentence.map((sentence, i) => ({ text: sentence, crossAttention: crossMap(i + 1), dense: out.denseMaps![0]![i + 1]! })),
      logit: out.logits[0]![0]!,
    });
  }
  return { kind: 'compare', image: shown!, grid, models: compared };
}
