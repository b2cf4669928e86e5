/**
 * `cosmos retrieve`: the cosine similarity of every image with every text, each image's best texts and each text's
 * best images, and, when images and texts are paired one-to-one (same count, i-th with i-th), Recall@1/5/10 both ways.
 */
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { type Match, recallBothWays, topK, transposed } from '../eval/ranking.ts';
import { similarityMatrix } from '../eval/retrieval.ts';
import { defineCommand } from './command.ts';
import { formatMatrix, percent } from './format.ts';
import { MODEL_FLAGS, decodeImages, loadModel, preprocessImages } from './inputs.ts';

const RECALL_KS = [1, 5, 10];

export const retrieveCommand = defineCommand({
  name: 'retrieve',
  summary: 'image-text similarity, top-k both ways, and Recall@1/5/10 when images and texts are paired',
  flags: {
    ...MODEL_FLAGS,
    image: { kind: 'list', required: true, value: 'I.png' },
    text: { kind: 'list', required: true, value: 'T' },
    'top-k': { kind: 'number', min: 1, value: 'K' },
  },
  async run(flags, ctx) {
    const tokenizer = await loadClipTokenizer();
    const decoded = await decodeImages(flags.image);
    const { model } = await loadModel(ctx, flags);
    let similarity: Float32Array;
    try {
      similarity = await similarityMatrix(model, preprocessImages(decoded, model), tokenizer.rowsFor(flags.text, model.config.text));
    } finally {
      model.dispose();
    }
    const [nI, nT] = [flags.image.length, flags.text.length];
    const k = Math.floor(flags['top-k'] ?? 5);
    const named = (matches: Match[][], labels: string[]) => matches.map((row) => row.map(({ index, score }) => ({ index, name: labels[index]!, score })));
    const imageToText = named(topK(similarity, nI, nT, Math.min(k, nT)), flags.text);
    const textToImage = named(topK(transposed(similarity, nI, nT), nT, nI, Math.min(k, nI)), flags.image);
    const recall = nI === nT ? recallBothWays(similarity, nI, RECALL_KS) : null;
    const byK = (values: number[]) => Object.fromEntries(RECALL_KS.map((kk, i) => [`R@${kk}`, values[i]!]));
    const matrix = Array.from({ length: nI }, (_, i) => [...similarity.subarray(i * nT, (i + 1) * nT)]);
    const json = {
      similarity: matrix,
      image_to_text: imageToText,
      text_to_image: textToImage,
      recall: recall && { image_to_text: byK(recall.imageToText), text_to_image: byK(recall.textToImage) },
    };
    ctx.result(json, () => {
      const lines = [`cosine similarity (images by texts):`, formatMatrix(matrix, flags.image, flags.text)];
      for (const [i, image] of flags.image.entries())
        lines.push(`${image} -> ${imageToText[i]!.map((m) => `${JSON.stringify(m.name)} ${m.score.toFixed(3)}`).join(', ')}`);
      for (const [j, text] of flags.text.entries())
        lines.push(`${JSON.stringify(text)} -> ${textToImage[j]!.map((m) => `${m.name} ${m.score.toFixed(3)}`).join(', ')}`);
      if (recall) {
        const show = (values: number[]) => RECALL_KS.map((kk, i) => `R@${kk} ${percent(values[i]!)}`).join(', ');
        lines.push(`image to text: ${show(recall.imageToText)}`, `text to image: ${show(recall.textToImage)}`);
      } else lines.push(`no recall: ${nI} images and ${nT} texts are not paired one-to-one`);
      return lines.join('\n');
    });
  },
});
