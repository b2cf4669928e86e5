/** Retrieval on the held-out split: every image against every caption, and Recall@1/5/10 both ways. */
import type { ClipModel } from '../../cosmos/model.ts';
import type { TrainingData } from '../../data/dataset.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { normalizeForClip } from '../../data/preprocess.ts';
import { recallBothWays } from '../../eval/ranking.ts';
import { similarityMatrix } from '../../eval/retrieval.ts';
import type { RetrievalResult } from '../protocol.ts';
import { HELD_OUT_COUNT } from '../../data/dataset.ts';

export const RECALL_KS = [1, 5, 10];

/** The first `count` held-out pairs of the data, image i with caption i. */
export async function retrieval(model: ClipModel, data: TrainingData, tokenizer: ClipTokenizer, count: number): Promise<RetrievalResult> {
  if (!Number.isInteger(count) || count < 2 || count > HELD_OUT_COUNT) {
    throw new Error(`Retrieval needs between 2 and ${HELD_OUT_COUNT} held-out pairs, not ${count}.`);
  }
  const pairs = data.heldOut(count, model.config.vision.imageSize);
  if (pairs.length < 2) throw new Error(`${data.name} has ${pairs.length} held-out pair: retrieval needs at least 2.`);
  const images = pairs.map(({ image }) => normalizeForClip(image));
  const captions = pairs.map(({ caption }) => caption);
  const similarity = await similarityMatrix(model, images, tokenizer.rowsFor(captions, model.config.text));
  const recall = recallBothWays(similarity, pairs.length, RECALL_KS);
  return { kind: 'retrieval', count: pairs.length, similarity, captions, recall: { i2t: recall.imageToText, t2i: recall.textToImage, ks: RECALL_KS } };
}
