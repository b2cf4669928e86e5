/**
 * `cosmos evaluate --checkpoint F [--weights student|teacher] [--count N] --json`: a model on the built-in held-out
 * scenes (object combinations never seen in training): retrieval Recall@1/5 both ways, the pointing game with the
 * cross-attention maps, the dense maps, attention rollout and relevance (from the last block and from block 0, named in
 * relevance_start_layer), and the segmentation mIoU, each beside its chance level.
 */
import { HELD_OUT_COUNT, sceneData } from '../data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import type { SceneKinds } from '../data/scenes.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { heldOutReport } from '../eval/heldOut.ts';
import { UsageError } from './args.ts';
import { defineCommand } from './command.ts';
import { percent } from './format.ts';
import { MODEL_FLAGS, loadModel } from './inputs.ts';

export const evaluateCommand = defineCommand({
  name: 'evaluate',
  summary: 'held-out retrieval, pointing game (cross-attention, dense, rollout and relevance maps) and mIoU on the built-in scenes',
  flags: {
    ...MODEL_FLAGS,
    count: { kind: 'number', min: 2, value: 'N' },
    scenes: { kind: 'string', choices: ['all', 'teaching'] },
  },
  async run(flags, ctx) {
    const [tokenizer, atlas] = await Promise.all([loadClipTokenizer(), loadSceneAtlasFromDisk()]);
    const { model, weights } = await loadModel(ctx, flags);
    try {
      const count = Math.floor(flags.count ?? HELD_OUT_COUNT);
      if (count > HELD_OUT_COUNT) throw new UsageError(`--count ${count}: the built-in held-out split has ${HELD_OUT_COUNT} scenes`);
      ctx.progress(`${flags.checkpoint}: evaluating the ${weights} weights on ${count} held-out scenes`);
      const report = await heldOutReport(model, sceneData(atlas, 0, (flags.scenes ?? 'all') as SceneKinds), tokenizer, count);
      const { chance, ...metrics } = report;
      // The vision block each relevance map starts at, counted from 0 as `explain --start-layer` counts them.
      const last = model.config.vision.layers - 1;
      const relevanceStart = { pointing_relevance: last, pointing_relevance_block0: 0 };
      ctx.result({ checkpoint: flags.checkpoint, weights, ...metrics, chance, relevance_start_layer: relevanceStart }, () =>
        [
          `${flags.checkpoint} (${weights}), ${report.pairs} held-out scenes, ${report.objects} objects:`,
          ...(
            [
              'i2t_r1',
              'i2t_r5',
              't2i_r1',
              't2i_r5',
              'pointing_cross_attention',
              'pointing_dense',
              'pointing_rollout',
              'pointing_relevance',
              'pointing_relevance_block0',
              'miou',
            ] as const
          ).map(
            (key) => `  ${key.padEnd(25)} ${report[key] === null ? '-' : percent(report[key])}  (chance ${chance[key] === null ? '-' : percent(chance[key])})`,
          ),
          `  relevance from vision block ${last} (the last; pointing_relevance) and block 0 (pointing_relevance_block0), as explain --start-layer counts`,
        ].join('\n'),
      );
    } finally {
      model.dispose();
    }
  },
});
