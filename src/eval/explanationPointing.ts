/**
 * The pointing game (pointing.ts, as sceneMetrics.ts plays it) for the maps that explain a model without its
 * poolers, on the same held-out scenes and objects: the vision tower's attention rollout (Abnar & Zuidema, the CLS
 * row through every block; one map per image, whatever the sentence), and gradient-weighted relevance (relevance.ts)
 * of each object's sentence with its image, R_vision's CLS row from block 0 and from the last block (the recipe's
 * default). `cosmos evaluate` reports them beside the cross-attention and dense maps.
 */
import type { ClipModel } from '../cosmos/model.ts';
import type { HeldOutScene } from '../data/dataset.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { noGradAsync } from '../tensor/engine.ts';
import { gatherRows } from '../tensor/ops/embedding.ts';
import { scopeAsync } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { batches, stackRows, textEmbeddings } from './batched.ts';
import { imageRelevance } from './relevance.ts';
import { attentionRollout } from './rollout.ts';
import { pointingChance, pointsInside } from './pointing.ts';
import type { Score } from './sceneMetrics.ts';

export interface ExplanationPointing {
  rollout: Score;
  /** Relevance from the last block of the vision tower. */
  relevance: Score;
  relevanceBlock0: Score;
}

/** Images per forward for the rollout: every block's attention of each is read back ([heads, T, T] per block). */
const ROLLOUT_BATCH = 8;

/** Each image's attention rollout over the patches. */
async function rollouts(model: ClipModel, images: readonly Float32Array[]): Promise<Float32Array[]> {
  const { imageSize: s, heads } = model.config.vision;
  const out: Float32Array[] = [];
  for (const group of batches(images, ROLLOUT_BATCH)) {
    const maps = await scopeAsync(() =>
      noGradAsync(async () => {
        const blocks: Tensor[] = [];
        model.encodeImage(stackRows(group, [3, s, s]), blocks);
        return Promise.all(blocks.map((b) => b.readFloat()));
      }),
    );
    const tokens = Math.round(Math.sqrt(maps[0]!.length / (group.length * heads)));
    const per = heads * tokens * tokens;
    for (let i = 0; i < group.length; i++) {
      out.push(attentionRollout(maps.map((block) => ({ heads, tokens, weights: block.subarray(i * per, (i + 1) * per) }))));
    }
  }
  return out;
}

/** What each object is scored with: maps over the patch grid. */
export interface ObjectMaps {
  /** Its image's attention rollout. */
  rollout: Float32Array;
  /** The relevance of its sentence with its image, from the vision tower's last block and from block 0. */
  relevance: Float32Array;
  relevanceBlock0: Float32Array;
}

/** [scene][object]: each object's maps. */
export async function explanationMaps(model: ClipModel, tokenizer: ClipTokenizer, scenes: readonly HeldOutScene[]): Promise<ObjectMaps[][]> {
  const images = scenes.map((s) => normalizeForClip(s.image));
  const maps = await rollouts(model, images);
  const last = model.config.vision.layers - 1;
  return scopeAsync(async () => {
    const objects = scenes.flatMap((scene) => scene.objects);
    const sentences = textEmbeddings(
      model,
      tokenizer.rowsFor(
        objects.map((o) => o.sentence),
        model.config.text,
      ),
    );
    const out: ObjectMaps[][] = [];
    let first = 0;
    for (const [i, scene] of scenes.entries()) {
      const own = Int32Array.from(scene.objects, (_, k) => first + k);
      first += scene.objects.length;
      // [object][start layer][patch], start layers 0 to the last.
      const relevance = own.length ? (await scopeAsync(() => imageRelevance(model, images[i]!, gatherRows(sentences, own), 0))).maps : [];
      out.push(relevance.map((layers) => ({ rollout: maps[i]!, relevance: layers[last]!, relevanceBlock0: layers[0]! })));
    }
    return out;
  });
}

/** The pointing game with rollout and with relevance from block 0 and from the last block, on `scenes`. */
export async function explanationPointing(model: ClipModel, tokenizer: ClipTokenizer, scenes: readonly HeldOutScene[]): Promise<ExplanationPointing> {
  const size = model.config.vision.imageSize;
  const side = size / model.config.vision.patchSize;
  const grid: [number, number] = [side, side];
  const objects = scenes.flatMap((scene) => scene.objects);
  if (objects.length === 0) throw new Error('the pointing game needs scenes with at least one object');
  const maps = (await explanationMaps(model, tokenizer, scenes)).flat();
  const chance = objects.reduce((sum, o) => sum + pointingChance(grid, size, o.box), 0) / objects.length;
  const score = (kind: keyof ObjectMaps): Score => ({
    value: objects.filter((o, k) => pointsInside(maps[k]![kind], grid, size, o.box)).length / objects.length,
    chance,
  });
  return { rollout: score('rollout'), relevance: score('relevance'), relevanceBlock0: score('relevanceBlock0') };
}
