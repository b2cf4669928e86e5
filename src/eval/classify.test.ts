import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CosmosModel } from '../cosmos/model.ts';
import { expectClose } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { classEmbeddings, classifyImages, rankClasses } from './classify.ts';
import { IMAGENET_TEMPLATES, promptsFor } from './templates.ts';
import { floatRows, idRows, tinyModel, zeroShotCase } from '../testing/zeroShot.ts';

setupTestGpu();

describe('zero-shot classification against the PyTorch reference (tiny.pt student)', () => {
  const c = zeroShotCase('classify');
  let model: CosmosModel;
  let classes: Tensor;
  beforeAll(async () => {
    model = await tinyModel('student');
    const [count, templates] = c.tensors.prompt_ids!.shape as [number, number];
    const rows = idRows({ shape: [count * templates, 77], data: c.tensors.prompt_ids!.data });
    classes = classEmbeddings(
      model,
      Array.from({ length: count }, (_, k) => rows.slice(k * templates, (k + 1) * templates)),
    );
  });
  afterAll(() => {
    classes?.dispose();
    model?.dispose();
  });

  it('class embeddings: mean of the normalized prompt embeddings, re-normalized', async () => {
    // Two-layer text tower in float32 against PyTorch's float32: unit vectors off by ~2e-7 here; 2e-6 leaves room
    // for other summation orders on other adapters.
    expectClose(await classes.readFloat(), c.tensors.class_embeddings!, { rtol: 0, atol: 2e-6 }, 'class embeddings');
  });

  it('logits (100 x cosine) and their softmax', async () => {
    const scores = await classifyImages(model, floatRows(c.tensors.images!), classes);
    // Logits are 100 times cosines good to ~1e-6 (measured 1.2e-5 on the logits); a softmax probability moves by
    // at most a quarter of the logits' error.
    expectClose(
      scores.logits.flatMap((r) => [...r]),
      c.tensors.logits!,
      { rtol: 0, atol: 1e-4 },
      'logits',
    );
    expectClose(
      scores.probabilities.flatMap((r) => [...r]),
      c.tensors.probabilities!,
      { rtol: 0, atol: 2.5e-5 },
      'probabilities',
    );
  });
});

describe('prompts', () => {
  it('80 distinct OpenAI ImageNet templates, each with one class slot', () => {
    expect(IMAGENET_TEMPLATES).toHaveLength(80);
    expect(new Set(IMAGENET_TEMPLATES).size).toBe(80);
    expect(IMAGENET_TEMPLATES.every((t) => t.split('{}').length === 2)).toBe(true);
    expect(promptsFor('tabby cat').slice(0, 2)).toEqual(['a bad photo of a tabby cat.', 'a photo of many tabby cat.']);
    expect(promptsFor('$& cat', ['a {}.'])).toEqual(['a $& cat.']);
  });

  it('ranks classes by probability', () => {
    const ranked = rankClasses(Float32Array.from([0.2, 0.5, 0.3]), ['a', 'b', 'c']);
    expect(ranked.map((r) => r.name)).toEqual(['b', 'c', 'a']);
  });
});
