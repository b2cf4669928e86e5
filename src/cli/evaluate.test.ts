/**
 * `evaluate` reports the pointing game of rollout and relevance beside the poolers' and the dense maps': the values
 * explanationPointing gives (checked map by map in src/eval/explanationPointing.test.ts) for the model the checkpoint
 * holds on the same held-out scenes, with the start block of each relevance named.
 */
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { openModelFiles } from '../checkpoint/modelFiles.ts';
import { nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { modelFromCheckpoint } from '../cosmos/load.ts';
import { resolveConfig } from '../cosmos/modelSource.ts';
import { sceneData } from '../data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { explanationPointing } from '../eval/explanationPointing.ts';
import { CLI_TEST_CONFIG, cliJson, tempDir, writeTestCheckpoint } from '../testing/cli.ts';
import { setupTestGpu } from '../testing/gpu.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());

// Two vision blocks, so that relevance from block 0 and from the last differ.
const CONFIG = { ...CLI_TEST_CONFIG, vision: { ...CLI_TEST_CONFIG.vision, layers: 2 } };
const COUNT = 2;

type Key = 'pointing_rollout' | 'pointing_relevance' | 'pointing_relevance_block0';
type Report = Record<Key, number> & { chance: Record<Key, number>; relevance_start_layer: Record<string, number>; objects: number };

it('reports pointing_rollout, pointing_relevance (from the last block) and pointing_relevance_block0 as explanationPointing scores them', async () => {
  const path = join(tmp.dir, 'two-blocks.pt');
  await writeTestCheckpoint(path, CONFIG);
  const got = await cliJson<Report>(runtime, 'evaluate', '--checkpoint', path, '--count', String(COUNT));
  expect(got.relevance_start_layer).toEqual({ pointing_relevance: 1, pointing_relevance_block0: 0 });

  const files = await nodeModelFiles(path);
  try {
    const opened = await openModelFiles(files);
    const model = await modelFromCheckpoint(opened, { config: resolveConfig(opened, path).config });
    try {
      const scenes = sceneData(await loadSceneAtlasFromDisk(), 0).heldOutScenes!(COUNT, model.config.vision.imageSize);
      const want = await explanationPointing(model, await loadClipTokenizer(), scenes);
      expect(got.objects).toBe(scenes.flatMap((s) => s.objects).length);
      const keys: Record<Key, keyof typeof want> = {
        pointing_rollout: 'rollout',
        pointing_relevance: 'relevance',
        pointing_relevance_block0: 'relevanceBlock0',
      };
      for (const [key, kind] of Object.entries(keys) as [Key, keyof typeof want][]) {
        expect({ value: got[key], chance: got.chance[key] }, key).toEqual(want[kind]);
      }
    } finally {
      model.dispose();
    }
  } finally {
    await files.close();
  }
});
