/**
 * What the maps show, measured on scenes whose ground truth is known (the built-in held-out scenes: each object's
 * caption sentence and where it is):
 *
 * - the pointing game: for each object, a map over the patch grid queried by the object's sentence; a hit when the
 *   map's highest patch has its centre inside the object's box. Two maps: the cross-attention of
 *   visual.attn_cross_pool (the sentence's global embedding over the image's mapped patch tokens, mean over heads),
 *   and the cosines between the sentence's normalized embedding and the normalized dense patch features
 *   (ln_post(patch) @ proj, which a CLIP-only model has too). Chance: the fraction of patches whose centre lies in
 *   the box, for a map that peaks anywhere.
 * - mIoU: the Segmentation panel's method (SCLIP, segment.ts) with each scene's object names and "background" as
 *   the classes, against the scene's mask; IoU per class summed over all scenes (intersections and unions), then
 *   the mean over classes. Chance: the same for labels drawn uniformly among each scene's classes.
 */
import type { ClipModel } from '../cosmos/model.ts';
import type { HeldOutScene } from '../data/dataset.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { noGrad } from '../tensor/engine.ts';
import { gatherRows } from '../tensor/ops/embedding.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { concat, reshape } from '../tensor/ops/shape.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { batches, stackRows } from './batched.ts';
import { classEmbeddings } from './classify.ts';
import { pointingChance, pointsInside } from './pointing.ts';
import { BACKGROUND, segmentImage } from './segment.ts';
import { promptsFor } from './templates.ts';

export interface Score {
  /** The fraction of hits (pointing) or the mean IoU, in [0, 1]. */
  value: number;
  /** What a map (or a labelling) without information scores on the same scenes. */
  chance: number;
}

export interface PointingScores {
  /** null for a plain CLIP model: it has no cross-attention pooler. */
  crossAttention: Score | null;
  dense: Score;
  /** Object sentences the scores are over. */
  objects: number;
}

/** Sentences per batch of the maps: their pooler keys are [sentences, patches, E] on the GPU. */
const SENTENCE_BATCH = 64;

/** Both pointing games on `scenes` (rendered at the model's image size). */
export async function pointingGame(model: ClipModel, tokenizer: ClipTokenizer, scenes: readonly HeldOutScene[]): Promise<PointingScores> {
  const size = model.config.vision.imageSize;
  const grid: [number, number] = [size / model.config.vision.patchSize, size / model.config.vision.patchSize];
  const objects = scenes.flatMap((scene, image) => scene.objects.map((o) => ({ image, box: o.box, sentence: o.sentence })));
  if (objects.length === 0) throw new Error('the pointing game needs scenes with at least one object');
  const patches = grid[0] * grid[1];
  const e = model.config.embedDim;
  const parts = model.cosmos;
  return scopeAsync(async () => {
    // Per image, once: the pooler's keys (mapped patch tokens) and the normalized dense features, [I, N, E] each.
    const { tokens, dense } = noGrad(() => {
      const encoded = batches(scenes.map((s) => normalizeForClip(s.image))).map((group) => {
        const features = model.encodeImage(stackRows(group, [3, size, size]));
        return { tokens: parts?.imageTokens(features) ?? null, dense: l2Normalize(model.visual.denseFeatures(features)) };
      });
      return {
        tokens: parts
          ? concat(
              encoded.map((x) => x.tokens!),
              0,
            )
          : null,
        dense: concat(
          encoded.map((x) => x.dense),
          0,
        ),
      };
    });
    let crossHits = 0;
    let denseHits = 0;
    for (const group of batches(objects, SENTENCE_BATCH)) {
      const maps = await scopeAsync(() =>
        noGrad(async () => {
          const query = model.encodeText(
            tokenizer.rowsFor(
              group.map((o) => o.sentence),
              model.config.text,
            ),
            'global',
          ).global;
          const images = Int32Array.from(group, (o) => o.image);
          const cross = parts && tokens ? parts.textAttendsImage(query, gatherRows(tokens, images), 'mean').weights! : null;
          // [S, N, E] x [S, E, 1]: each sentence against its own image's patches.
          const cosines = matmul(gatherRows(dense, images), reshape(l2Normalize(query), [group.length, e, 1]));
          return { cross: (await cross?.readFloat()) ?? null, dense: await cosines.readFloat() };
        }),
      );
      for (const [i, o] of group.entries()) {
        if (maps.cross && pointsInside(maps.cross.subarray(i * patches, (i + 1) * patches), grid, size, o.box)) crossHits++;
        if (pointsInside(maps.dense.subarray(i * patches, (i + 1) * patches), grid, size, o.box)) denseHits++;
      }
    }
    const chance = objects.reduce((sum, o) => sum + pointingChance(grid, size, o.box), 0) / objects.length;
    return {
      crossAttention: parts ? { value: crossHits / objects.length, chance } : null,
      dense: { value: denseHits / objects.length, chance },
      objects: objects.length,
    };
  });
}

const BACKGROUND_CLASS = 'background';

/** mIoU of the Segmentation panel's method on `scenes`, classes their object names and "background". */
export async function sceneMiou(model: ClipModel, tokenizer: ClipTokenizer, scenes: readonly HeldOutScene[]): Promise<Score> {
  const names = [...new Set(scenes.flatMap((s) => s.objects.map((o) => o.name))), BACKGROUND_CLASS];
  const classIndex = new Map(names.map((name, i) => [name, i]));
  // Per class over all scenes: intersections and unions, measured and expected by chance.
  const totals = names.map(() => ({ intersection: 0, union: 0, chanceIntersection: 0, chanceUnion: 0, present: false }));
  await scopeAsync(async () => {
    const all = classEmbeddings(
      model,
      names.map((name) => tokenizer.rowsFor(promptsFor(name), model.config.text)),
    );
    for (const scene of scenes) {
      // The scene's classes: its objects, then background; label k of the segmentation is class k.
      const own = [...scene.objects.map((o) => classIndex.get(o.name)!), classIndex.get(BACKGROUND_CLASS)!];
      const truthOf = [...scene.objects.map((o) => o.emoji + 1), 0];
      const segmentation = await scopeAsync(() =>
        segmentImage(
          model,
          scene.image,
          noGrad(() => gatherRows(all, Int32Array.from(own))),
        ),
      );
      const pixels = scene.mask.length;
      for (const [k, c] of own.entries()) {
        let truth = 0;
        let predicted = 0;
        let both = 0;
        for (let p = 0; p < pixels; p++) {
          const label = segmentation.labels[p] === BACKGROUND ? own.length - 1 : segmentation.labels[p]!;
          const isTruth = scene.mask[p] === truthOf[k];
          const isPredicted = label === k;
          truth += Number(isTruth);
          predicted += Number(isPredicted);
          both += Number(isTruth && isPredicted);
        }
        const t = totals[c]!;
        t.present ||= truth > 0;
        t.intersection += both;
        t.union += truth + predicted - both;
        // Uniform labels among the scene's classes: each pixel is class k with probability 1 / classes.
        const share = 1 / own.length;
        t.chanceIntersection += truth * share;
        t.chanceUnion += truth + pixels * share - truth * share;
      }
    }
  });
  const present = totals.filter((t) => t.present && t.union > 0);
  const mean = (f: (t: (typeof present)[number]) => number) => present.reduce((sum, t) => sum + f(t), 0) / present.length;
  return { value: mean((t) => t.intersection / t.union), chance: mean((t) => t.chanceIntersection / t.chanceUnion) };
}
