/**
 * How well a model retrieves on the held-out split of its data (for the built-in scenes: object combinations never
 * seen in training): image-to-text and text-to-image Recall@1 and @5 over `count` pairs, each image against every
 * caption. The training loop in the worker and `cosmos train` report it.
 */
import type { ClipModel } from '../cosmos/model.ts';
import type { TrainingData } from '../data/dataset.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { recallAtK } from './ranking.ts';
import { similarityMatrix } from './retrieval.ts';

export interface RetrievalRecord {
  i2t_r1: number;
  i2t_r5: number;
  t2i_r1: number;
  t2i_r5: number;
}

/** Recall@1/5 both ways (fractions) of `model` on the first `count` held-out pairs of `data`. */
export async function heldOutRetrieval(model: ClipModel, data: TrainingData, tokenizer: ClipTokenizer, count: number): Promise<RetrievalRecord> {
  const pairs = data.heldOut(count, model.config.vision.imageSize);
  const n = pairs.length;
  const images = pairs.map((pair) => normalizeForClip(pair.image));
  const similarity = await similarityMatrix(
    model,
    images,
    tokenizer.rowsFor(
      pairs.map((pair) => pair.caption),
      model.config.text,
    ),
  );
  const [i2tR1, i2tR5] = recallAtK(similarity, n, [1, 5], 'image-to-text');
  const [t2iR1, t2iR5] = recallAtK(similarity, n, [1, 5], 'text-to-image');
  return { i2t_r1: i2tR1!, i2t_r5: i2tR5!, t2i_r1: t2iR1!, t2i_r5: t2iR5! };
}
