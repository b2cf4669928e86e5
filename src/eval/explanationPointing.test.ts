/**
 * The pointing game of rollout and relevance on held-out scenes scores, object by object, the image relevance that
 * `explain` prints (checked against PyTorch) and the rollout (checked against PyTorch): each object's own sentence
 * with its own image, block 0 and the last block in the right places.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type CosmosModel, cosmosModel } from '../cosmos/model.ts';
import { PRESETS } from '../cosmos/presets.ts';
import { type HeldOutScene, sceneData } from '../data/dataset.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { noGradAsync } from '../tensor/engine.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { fromArray, type Tensor } from '../tensor/tensor.ts';
import { expectClose } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { explanationMaps, explanationPointing } from './explanationPointing.ts';
import { textEmbeddings } from './batched.ts';
import { imageRelevance } from './relevance.ts';
import { attentionRollout } from './rollout.ts';
import { pointingChance, pointsInside } from './pointing.ts';

setupTestGpu();

const config = PRESETS.tiny;
const size = config.vision.imageSize;
const side = size / config.vision.patchSize;
const SAME = { rtol: 0, atol: 1e-6 };

describe('explanationPointing on the tiny preset', () => {
  let model: CosmosModel;
  let tokenizer: ClipTokenizer;
  let scenes: HeldOutScene[];

  beforeAll(async () => {
    model = cosmosModel(config, 3);
    tokenizer = await loadClipTokenizer();
    scenes = sceneData(await loadSceneAtlasFromDisk(), 0).heldOutScenes!(2, size);
  });

  it('gives each object the rollout of its image and the relevance of its sentence, from the last block and block 0', async () => {
    const got = await explanationMaps(model, tokenizer, scenes);
    expect(got.map((objects) => objects.length)).toEqual(scenes.map((s) => s.objects.length));
    for (const [i, scene] of scenes.entries()) {
      const pixels = normalizeForClip(scene.image);
      const rows = tokenizer.rowsFor(
        scene.objects.map((o) => o.sentence),
        config.text,
      );
      const { maps } = await scopeAsync(() => imageRelevance(model, pixels, textEmbeddings(model, rows), 0));
      const blocks = await scopeAsync(() =>
        noGradAsync(async () => {
          const collected: Tensor[] = [];
          model.encodeImage(fromArray(pixels, [1, 3, size, size]), collected);
          return Promise.all(collected.map((b) => b.readFloat()));
        }),
      );
      const rollout = attentionRollout(blocks.map((weights) => ({ heads: config.vision.heads, tokens: side * side + 1, weights })));
      for (const [k, own] of got[i]!.entries()) {
        // The same kernels on the same inputs, the rollout's images batched differently: at most float32 rounding.
        expectClose(own.rollout, rollout, SAME, `scene ${i} object ${k} rollout`);
        expectClose(own.relevance, maps[k]![config.vision.layers - 1]!, SAME, `scene ${i} object ${k} relevance`);
        expectClose(own.relevanceBlock0, maps[k]![0]!, SAME, `scene ${i} object ${k} relevance from block 0`);
      }
    }
  });

  it('scores the hits of those maps beside the share of patches inside each box', async () => {
    const got = await explanationPointing(model, tokenizer, scenes);
    const maps = (await explanationMaps(model, tokenizer, scenes)).flat();
    const objects = scenes.flatMap((s) => s.objects);
    const chance = objects.reduce((sum, o) => sum + pointingChance([side, side], size, o.box), 0) / objects.length;
    for (const kind of ['rollout', 'relevance', 'relevanceBlock0'] as const) {
      const hits = objects.filter((o, k) => pointsInside(maps[k]![kind], [side, side], size, o.box)).length;
      expect(got[kind], kind).toEqual({ value: hits / objects.length, chance });
    }
    expect(chance).toBeGreaterThan(0);
    expect(chance).toBeLessThan(1);
  });
});
