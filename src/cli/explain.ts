/**
 * `cosmos explain --checkpoint F [--weights student|teacher] [--config C] --image I... --text T... [--start-layer K]
 * --json`: gradient-weighted attention relevance (Chefer, Gur & Wolf's CLIP recipe, src/eval/relevance.ts) of every
 * (image, text) pair for its score exp(logit_scale) * cos(image, text), on COSMOS and plain CLIP models alike:
 * image_relevance [images][texts][patches] over the patch grid `grid`, text_relevance [images][texts][77] over the
 * context positions, and the scores explained (`logits`, images by texts). The relevance starts at block K of both
 * towers, by default at each tower's last block.
 */
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { explainPairs, lastBlocks, type StartLayers } from '../eval/relevance.ts';
import { defineCommand } from './command.ts';
import { formatMatrix, rows } from './format.ts';
import { MODEL_FLAGS, decodeImages, loadModel, preprocessImages } from './inputs.ts';

export const explainCommand = defineCommand({
  name: 'explain',
  summary: 'gradient x attention relevance (Chefer et al.) of every image and text pair: patches and tokens',
  flags: {
    ...MODEL_FLAGS,
    image: { kind: 'list', required: true, value: 'I.png' },
    text: { kind: 'list', required: true, value: 'T' },
    'start-layer': { kind: 'number', min: 0, value: 'K' },
  },
  async run(flags, ctx) {
    const tokenizer = await loadClipTokenizer();
    const decoded = await decodeImages(flags.image);
    const { model } = await loadModel(ctx, flags);
    try {
      const k = flags['start-layer'];
      const from: StartLayers = k === undefined ? lastBlocks(model) : { vision: k, text: k };
      const ids = tokenizer.rowsFor(flags.text, model.config.text);
      ctx.progress(`explaining ${flags.image.length} x ${flags.text.length} pairs from block ${from.vision} (vision) and ${from.text} (text)`);
      const out = await explainPairs(model, preprocessImages(decoded, model), ids, from);
      // Each pair's maps for the start layers asked for: the first computed.
      const image = out.image.map((perImage) => perImage.map((layers) => [...layers[0]!]));
      const text = out.text.map((perImage) => perImage.map((layers) => [...layers[0]!]));
      const json = { image_relevance: image, text_relevance: text, grid: out.grid, start_layer: from, logits: rows(out.logits) };
      ctx.result(json, () =>
        flags.image
          .flatMap((imageName, i) =>
            flags.text.map((caption, t) => {
              const [gridRows, cols] = out.grid;
              const grid = Array.from({ length: gridRows }, (_, r) => image[i]![t]!.slice(r * cols, (r + 1) * cols));
              const numbers = (n: number) => Array.from({ length: n }, (_, index) => String(index));
              const eot = ids[t]!.indexOf(tokenizer.eotId);
              const tokens = Array.from(ids[t]!.subarray(0, eot + 1), (id, p) => `${tokenizer.decode([id]).trim() || '·'} ${text[i]![t]![p]!.toFixed(3)}`);
              return [`${imageName} x "${caption}":`, formatMatrix(grid, numbers(gridRows), numbers(cols)), `tokens: ${tokens.join('  ')}`].join('\n');
            }),
          )
          .join('\n\n'),
      );
    } finally {
      model.dispose();
    }
  },
});
