import { beforeAll, describe, expect, it } from 'vitest';
import { cosmosModel } from '../cosmos/model.ts';
import { PRESETS } from '../cosmos/presets.ts';
import { drawViews, TrainingRun } from '../cosmos/training.ts';
import { TINY_TRAINING } from '../cosmos/trainingOptions.ts';
import { sceneData } from '../data/dataset.ts';
import { rng } from '../data/random.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import { heldOutScenes, sceneCaption, type SceneAtlas } from '../data/scenes.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { embed } from '../eval/embed.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { type AnalysisContext, handleAnalysis } from './analysis.ts';
import { prepareImage, PAD_TOKEN, sourceImage } from './analysis/inputs.ts';
import type { AttentionResult, HeldOutPairResult, RetrievalResult, SegmentResult, SelfAttentionResult, ViewsResult, ZeroShotResult } from './protocol.ts';

setupTestGpu();

const config = PRESETS.tiny;
const sum = (values: ArrayLike<number>) => Array.from(values).reduce((a, b) => a + b, 0);

describe('handleAnalysis on the tiny preset', () => {
  let ctx: AnalysisContext;
  let atlas: SceneAtlas;
  let tokenizer: ClipTokenizer;

  beforeAll(async () => {
    atlas = await loadSceneAtlasFromDisk();
    tokenizer = await loadClipTokenizer();
    ctx = { run: null, atlas, tokenizer, student: cosmosModel(config, 1), teacher: cosmosModel(config, 2) };
  });

  it('gives both cross-attention maps of a scene and its caption, per head and per sentence', async () => {
    const caption = sceneCaption(heldOutScenes(atlas, 4)[3]!);
    const result = (await handleAnalysis({ kind: 'attention', image: { kind: 'scene', index: 3 }, caption, weights: 'student' }, ctx)) as AttentionResult;
    const grid = config.vision.imageSize / config.vision.patchSize;
    expect(result.grid).toEqual([grid, grid]);
    expect(result.image.width).toBe(224);
    expect(result.patchHeads).toHaveLength(config.vision.attnPoolerHeads);
    expect(result.tokenHeads).toHaveLength(config.text.attnPoolerHeads);
    // Softmax rows: each head's weights over the patches (and over the 77 tokens) sum to 1.
    for (const head of result.patchHeads) expect(sum(head)).toBeCloseTo(1, 5);
    for (const head of result.tokenHeads) expect(sum(head)).toBeCloseTo(1, 5);
    expect(result.tokenMean).toHaveLength(77);
    expect(result.tokens).toHaveLength(77);
    expect(result.tokens[0]).toBe('<start_of_text>');
    const eot = result.tokens.indexOf('<end_of_text>');
    expect(result.tokens.slice(1, eot).join('')).toBe(tokenizer.decode(tokenizer.encode(caption)));
    expect(result.tokens.slice(eot + 1).every((t) => t === PAD_TOKEN)).toBe(true);
    // Each sentence's own map is what embedding that sentence alone gives.
    const sentences = caption
      .split('.')
      .map((s) => s.trim())
      .filter(Boolean);
    expect(result.sentences.map((s) => s.text)).toEqual(sentences);
    const image = prepareImage({ atlas, kinds: 'all' }, { kind: 'scene', index: 3 }, config.vision.imageSize);
    const alone = await embed(ctx.student, [image.pixels], tokenizer.tokenize([sentences[1]!]), { attention: true });
    // The same kernels on the same inputs, batched differently: float32 summation order only.
    expect(Math.max(...result.sentences[1]!.patchMean.map((v, i) => Math.abs(v - alone.imageAttention![0]![0]![i]!)))).toBeLessThan(1e-6);
  });

  it("hands over a held-out pair of the run's data: the built-in scene's own picture and caption", async () => {
    const pair = (await handleAnalysis({ kind: 'heldOutPair', index: 3 }, ctx)) as HeldOutPairResult;
    expect(pair.caption).toBe(sceneCaption(heldOutScenes(atlas, 4)[3]!));
    expect(pair.image).toEqual(sourceImage({ atlas, kinds: 'all' }, { kind: 'scene', index: 3 }, 224));
    await expect(handleAnalysis({ kind: 'heldOutPair', index: 256 }, ctx)).rejects.toThrow('built-in scenes has no held-out pair 256.');
  });

  it('refuses an empty caption and a missing teacher with sentences', async () => {
    await expect(handleAnalysis({ kind: 'attention', image: { kind: 'scene', index: 0 }, caption: '  ', weights: 'student' }, ctx)).rejects.toThrow(
      /Type a caption/,
    );
    const noTeacher = { ...ctx, teacher: null };
    await expect(handleAnalysis({ kind: 'selfAttention', image: { kind: 'scene', index: 0 }, weights: 'teacher' }, noTeacher)).rejects.toThrow(/no teacher/);
    await expect(handleAnalysis({ kind: 'selfAttention', image: { kind: 'scene', index: 999 }, weights: 'student' }, ctx)).rejects.toThrow(
      /no held-out scene 999/,
    );
  });

  it('gives CLS-to-patch self-attention per layer and head, and the rollout', async () => {
    const image = { width: 100, height: 80, data: new Uint8Array(100 * 80 * 3).map((_, i) => (i * 37) % 256) };
    const result = (await handleAnalysis({ kind: 'selfAttention', image: { kind: 'image', image }, weights: 'teacher' }, ctx)) as SelfAttentionResult;
    const patches = (config.vision.imageSize / config.vision.patchSize) ** 2;
    expect(result.clsToPatches).toHaveLength(config.vision.layers);
    expect(result.clsToPatches[0]).toHaveLength(config.vision.heads);
    expect(result.clsToPatches[1]![1]).toHaveLength(patches);
    // CLS's weights over the patches are its softmax row less its weight on itself.
    for (const layer of result.clsToPatches) for (const head of layer) expect(sum(head)).toBeLessThanOrEqual(1 + 1e-6);
    expect(result.rollout).toHaveLength(patches);
    expect(result.image).toMatchObject({ width: 224, height: 224 });
  });

  it('renders a fresh draw of the views of a training sample before any run', async () => {
    const result = (await handleAnalysis({ kind: 'views', step: 2, sample: 5, draw: 0 }, ctx)) as ViewsResult;
    expect(result).toMatchObject({ step: 2, sample: 5, example: TINY_TRAINING.batchSize + 5, trained: false });
    expect(result.images.map((i) => i.width)).toEqual([64, 64, 32, 32]);
    expect(result.texts).toHaveLength(4);
    for (const text of result.texts) for (const sentence of text.split('. ')) expect(result.caption).toContain(sentence);
    // Not a blank picture: the crops show the scene.
    const first = result.images[0]!.data;
    expect(Math.max(...first) - Math.min(...first)).toBeGreaterThan(50);
  });

  it('shows exactly the views the last step trained on, and a labelled fresh draw for other steps', async () => {
    const options = { ...TINY_TRAINING, batchSize: 3, steps: 4 };
    const run = new TrainingRun(config, options, sceneData(atlas, 0), tokenizer);
    await run.trainStep();
    const trained = run.lastStepViews!;
    const withRun = { ...ctx, run, student: run.student, teacher: run.teacher };
    for (let sample = 0; sample < 3; sample++) {
      const result = (await handleAnalysis({ kind: 'views', step: 1, sample, draw: 0 }, withRun)) as ViewsResult;
      expect(result).toMatchObject({ step: 1, sample, example: trained.examples[sample], trained: true, texts: trained.texts[sample] });
      expect(result.images.map((i) => i.width)).toEqual(trained.plans[sample]!.map((plan) => plan.size));
    }
    // The step the run trains on: the same random stream, the same function, so its views are the ones shown.
    const replay = drawViews(
      rng(options.seed + 1),
      trained.examples.map((e) => run.data.train(e, options.sourceSize).caption),
      config,
      options,
    );
    expect(replay).toEqual({ plans: trained.plans, texts: trained.texts });
    const next = (await handleAnalysis({ kind: 'views', step: 2, sample: 0, draw: 0 }, withRun)) as ViewsResult;
    expect(next).toMatchObject({ step: 2, example: 3, trained: false });
    const again = (await handleAnalysis({ kind: 'views', step: 1, sample: 0, draw: 1 }, withRun)) as ViewsResult;
    expect(again.trained).toBe(false);
    await expect(handleAnalysis({ kind: 'views', step: 1, sample: 3, draw: 0 }, withRun)).rejects.toThrow('There is no sample 3 in a batch of 3');
    run.dispose();
  });

  it('ranks held-out captions for held-out images', async () => {
    const result = (await handleAnalysis({ kind: 'retrieval', count: 6, weights: 'student' }, ctx)) as RetrievalResult;
    expect(result.similarity).toHaveLength(36);
    expect(result.captions).toEqual(heldOutScenes(atlas, 6).map(sceneCaption));
    expect(result.recall.ks).toEqual([1, 5, 10]);
    expect(result.recall.i2t[2]).toBe(1);
    for (const v of result.similarity) expect(Math.abs(v)).toBeLessThanOrEqual(1 + 1e-5);
  });

  it('classifies and segments zero-shot', async () => {
    const classes = ' dog , blue sky,';
    const ranked = (await handleAnalysis({ kind: 'zeroShot', image: { kind: 'scene', index: 1 }, classes, weights: 'student' }, ctx)) as ZeroShotResult;
    expect(ranked.ranked.map((r) => r.label).sort()).toEqual(['blue sky', 'dog']);
    expect(sum(ranked.ranked.map((r) => r.probability))).toBeCloseTo(1, 5);
    expect(ranked.ranked[0]!.probability).toBeGreaterThanOrEqual(ranked.ranked[1]!.probability);
    await expect(handleAnalysis({ kind: 'zeroShot', image: { kind: 'scene', index: 1 }, classes: 'cat', weights: 'student' }, ctx)).rejects.toThrow(
      /at least two/,
    );

    const seg = (await handleAnalysis({ kind: 'segment', image: { kind: 'scene', index: 1 }, classes, csa: true }, ctx)) as SegmentResult;
    expect(seg.labels).toHaveLength(224 * 224);
    expect(seg.classes).toEqual(['dog', 'blue sky']);
    expect(seg.labels.every((label) => label >= -1 && label < 2)).toBe(true);
  });
});
