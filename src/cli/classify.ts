/**
 * `cosmos classify`: zero-shot classification with the 80 OpenAI ImageNet prompt templates per class; prints each
 * image's classes ranked by probability (softmax of 100 * cosine).
 */
import { parseClassNames } from '../eval/classNames.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { classEmbeddings, classifyImages, rankClasses } from '../eval/classify.ts';
import { IMAGENET_TEMPLATES, promptsFor } from '../eval/templates.ts';
import { defineCommand } from './command.ts';
import { percent, rows } from './format.ts';
import { MODEL_FLAGS, decodeImages, loadModel, preprocessImages } from './inputs.ts';

export const classifyCommand = defineCommand({
  name: 'classify',
  summary: 'zero-shot classification of images into the given classes (80 prompt templates per class)',
  flags: {
    ...MODEL_FLAGS,
    image: { kind: 'list', required: true, value: 'I.png' },
    classes: { kind: 'string', required: true, value: '"cat,dog,..."' },
  },
  async run(flags, ctx) {
    const names = parseClassNames(flags.classes);
    const tokenizer = await loadClipTokenizer();
    const decoded = await decodeImages(flags.image);
    const { model } = await loadModel(ctx, flags);
    try {
      const images = preprocessImages(decoded, model);
      const prompts = names.map((name) => tokenizer.rowsFor(promptsFor(name), model.config.text));
      ctx.progress(`encoding ${names.length} classes x ${IMAGENET_TEMPLATES.length} prompts`);
      const classes = classEmbeddings(model, prompts);
      const scores = await classifyImages(model, images, classes).finally(() => classes.dispose());
      const ranked = scores.probabilities.map((p) => rankClasses(p, names));
      const json = {
        classes: names,
        templates: IMAGENET_TEMPLATES.length,
        logits: rows(scores.logits),
        probabilities: rows(scores.probabilities),
        predictions: flags.image.map((image, i) => ({
          image,
          ranked: ranked[i]!.map((r) => ({ class: r.name, probability: r.probability, logit: scores.logits[i]![r.index]! })),
        })),
      };
      ctx.result(json, () => flags.image.map((image, i) => `${image}: ${ranked[i]!.map((r) => `${r.name} ${percent(r.probability)}`).join(', ')}`).join('\n'));
    } finally {
      model.dispose();
    }
  },
});
