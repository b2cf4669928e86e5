/**
 * How well a model does on the held-out split of its data (for the built-in scenes: object combinations never
 * seen in training): image-to-text and text-to-image Recall@1 and @5 over `count` pairs, each image against every
 * caption; and where the data knows where its objects are (the built-in scenes), the pointing games and the
 * segmentation mIoU of sceneMetrics.ts, and for `cosmos evaluate` the pointing game of rollout and relevance
 * (explanationPointing.ts). The training loop in the worker and `cosmos train` / `cosmos evaluate`
 * report it.
 */
import type { ClipModel } from '../cosmos/model.ts';
import type { ImageCaption, TrainingData } from '../data/dataset.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { recallAtK } from './ranking.ts';
import { similarityMatrix } from './retrieval.ts';
import { explanationPointing } from './explanationPointing.ts';
import { pointingGame, sceneMiou } from './sceneMetrics.ts';

export interface RetrievalRecord {
  i2t_r1: number;
  i2t_r5: number;
  t2i_r1: number;
  t2i_r5: number;
}

/** What the maps show (null where the data has no ground truth). */
export interface PointingRecord {
  pointing_cross_attention: number | null;
  pointing_dense: number | null;
}

export type HeldOutRecord = RetrievalRecord & PointingRecord;

/** The pointing game of the maps that explain any CLIP (explanationPointing.ts): too slow for the training charts. */
export interface ExplanationPointingRecord {
  /** Relevance from the vision tower's last block, the recipe's default start layer. */
  pointing_relevance: number | null;
  pointing_relevance_block0: number | null;
  pointing_rollout: number | null;
}

export interface HeldOutReport extends HeldOutRecord, ExplanationPointingRecord {
  miou: number | null;
  /** Each metric's value for a model without information on the same pairs. */
  chance: Record<keyof HeldOutRecord | keyof ExplanationPointingRecord | 'miou', number | null>;
  pairs: number;
  /** Object sentences the pointing games are over. */
  objects: number;
}

/** Recall@1/5 both ways (fractions) of `model` on the first `count` held-out pairs of `data`. */
export function heldOutRetrieval(model: ClipModel, data: TrainingData, tokenizer: ClipTokenizer, count: number): Promise<RetrievalRecord> {
  return retrieval(model, data.heldOut(count, model.config.vision.imageSize), tokenizer);
}

async function retrieval(model: ClipModel, pairs: readonly ImageCaption[], tokenizer: ClipTokenizer): Promise<RetrievalRecord> {
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

/** Recall and, where the data has ground truth, both pointing games: what the training charts plot. */
export async function heldOutRecord(model: ClipModel, data: TrainingData, tokenizer: ClipTokenizer, count: number): Promise<HeldOutRecord> {
  const recall = await heldOutRetrieval(model, data, tokenizer, count);
  const scenes = data.heldOutScenes?.(count, model.config.vision.imageSize);
  if (!scenes) return { ...recall, pointing_cross_attention: null, pointing_dense: null };
  const pointing = await pointingGame(model, tokenizer, scenes);
  return { ...recall, pointing_cross_attention: pointing.crossAttention?.value ?? null, pointing_dense: pointing.dense.value };
}

/** Every held-out metric with its chance level: `cosmos evaluate`. */
export async function heldOutReport(model: ClipModel, data: TrainingData, tokenizer: ClipTokenizer, count: number): Promise<HeldOutReport> {
  const pairs = data.heldOut(count, model.config.vision.imageSize);
  const recall = await retrieval(model, pairs, tokenizer);
  const n = pairs.length;
  const recallChance = { i2t_r1: 1 / n, i2t_r5: Math.min(1, 5 / n), t2i_r1: 1 / n, t2i_r5: Math.min(1, 5 / n) };
  const scenes = data.heldOutScenes?.(count, model.config.vision.imageSize);
  if (!scenes) {
    const none = {
      pointing_cross_attention: null,
      pointing_dense: null,
      pointing_relevance: null,
      pointing_relevance_block0: null,
      pointing_rollout: null,
      miou: null,
    };
    return { ...recall, ...none, chance: { ...recallChance, ...none }, pairs: n, objects: 0 };
  }
  const pointing = await pointingGame(model, tokenizer, scenes);
  const explained = await explanationPointing(model, tokenizer, scenes);
  const miou = await sceneMiou(model, tokenizer, scenes);
  return {
    ...recall,
    pointing_cross_attention: pointing.crossAttention?.value ?? null,
    pointing_dense: pointing.dense.value,
    pointing_relevance: explained.relevance.value,
    pointing_relevance_block0: explained.relevanceBlock0.value,
    pointing_rollout: explained.rollout.value,
    miou: miou.value,
    chance: {
      ...recallChance,
      pointing_cross_attention: pointing.crossAttention?.chance ?? null,
      pointing_dense: pointing.dense.chance,
      pointing_relevance: explained.relevance.chance,
      pointing_relevance_block0: explained.relevanceBlock0.chance,
      pointing_rollout: explained.rollout.chance,
      miou: miou.chance,
    },
    pairs: n,
    objects: pointing.objects,
  };
}
