/**
 * `cosmos embed`: normalized image and text embeddings, CLIP logits (exp(logit_scale) * image . text, images by
 * captions) and, with --attention, both poolers' cross-attention weights (mean over heads) for every pair.
 */
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { embed } from '../eval/embed.ts';
import { defineCommand } from './command.ts';
import { MODEL_FLAGS, decodeImages, loadModel, preprocessImages } from './inputs.ts';
import { formatMatrix, rows } from './format.ts';

export const embedCommand = defineCommand({
  name: 'embed',
  summary: 'image and text embeddings, logits, and (--attention) the patch-wise and token-wise attention maps',
  flags: {
    ...MODEL_FLAGS,
    image: { kind: 'list', required: true, value: 'I.png' },
    text: { kind: 'list', required: true, value: 'T' },
    attention: { kind: 'switch' },
  },
  async run(flags, ctx) {
    const tokenizer = await loadClipTokenizer();
    const decoded = await decodeImages(flags.image);
    const { model } = await loadModel(ctx, flags);
    try {
      const tokens = tokenizer.rowsFor(flags.text, model.config.text);
      const out = await embed(model, preprocessImages(decoded, model), tokens, { attention: flags.attention });
      const json = {
        tokens: tokens.map((row) => [...row]),
        image_embeddings: rows(out.imageEmbeddings),
        text_embeddings: rows(out.textEmbeddings),
        logits: rows(out.logits),
        ...(flags.attention ? { image_attention: out.imageAttention!.map(rows), text_attention: out.textAttention!.map(rows), grid: out.grid } : {}),
      };
      ctx.result(json, () => `logits (images by captions):\n${formatMatrix(out.logits, flags.image, flags.text)}`);
    } finally {
      model.dispose();
    }
  },
});
