import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CosmosModel } from '../cosmos/model.ts';
import { expectClose } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { recallAtK, recallBothWays, topK, transposed } from './ranking.ts';
import { similarityMatrix } from './retrieval.ts';
import { floatRows, idRows, tinyModel, zeroShotCase } from '../testing/zeroShot.ts';

setupTestGpu();

describe('retrieval against the PyTorch reference (tiny.pt student)', () => {
  const c = zeroShotCase('retrieval');
  const attrs = c.attrs as { ks: number[]; image_to_text: number[]; text_to_image: number[] };
  let model: CosmosModel;
  beforeAll(async () => {
    model = await tinyModel('student');
  });
  afterAll(() => model?.dispose());

  it('cosine similarity matrix of 11 images by 11 captions, encoded in batches', async () => {
    const similarity = await similarityMatrix(model, floatRows(c.tensors.images!), idRows(c.tensors.ids!));
    // Cosines of float32 unit vectors: off by ~2e-7 here; 2e-6 leaves room for other summation orders.
    expectClose(similarity, c.tensors.similarity!, { rtol: 0, atol: 2e-6 }, 'similarity');
  });

  it('Recall@1/5/10 both ways, as torch.topk ranks them', () => {
    const similarity = Float32Array.from(c.tensors.similarity!.data);
    const recall = recallBothWays(similarity, 11, attrs.ks);
    expectClose(recall.imageToText, attrs.image_to_text, { rtol: 0, atol: 1e-7 }, 'i2t'); // fractions of 11: exact
    expectClose(recall.textToImage, attrs.text_to_image, { rtol: 0, atol: 1e-7 }, 't2i');
  });
});

describe('ranking on the host', () => {
  // images by captions: image 0 prefers caption 1, image 1 its own caption 1, image 2 ties all three (a miss
  // until k = 3); caption 2 prefers its own image.
  const s = Float32Array.from([0.1, 0.9, 0.3, 0.2, 0.8, 0.1, 0.5, 0.5, 0.5]);

  it('top-k of each row, best first, ties to the lower index', () => {
    expect(topK(s, 3, 3, 2).map((row) => row.map((m) => m.index))).toEqual([
      [1, 2],
      [1, 0],
      [0, 1],
    ]);
    expect(topK(transposed(s, 3, 3), 3, 3, 1).map((row) => row[0]!.index)).toEqual([2, 0, 2]);
  });

  it('recall counts ties against the pair', () => {
    expect(recallAtK(s, 3, [1, 2, 3])).toEqual([1 / 3, 1 / 3, 1]);
    expect(recallAtK(s, 3, [1, 2, 3], 'text-to-image')).toEqual([1 / 3, 2 / 3, 1]);
    expect(() => recallAtK(s, 2, [1])).toThrow(/2 x 2/);
  });
});
