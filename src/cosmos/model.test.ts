import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { embed, type EmbedOutput } from '../eval/embed.ts';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { noGrad, noGradAsync } from '../tensor/engine.ts';
import { l2Normalize } from '../tensor/ops/normalize.ts';
import { matmul } from '../tensor/ops/matmul.ts';
import { scopeAsync } from '../tensor/scope.ts';
import { fromArray } from '../tensor/tensor.ts';
import { fromOpenClipConfig, inferConfig, type OpenClipModelConfig } from './config.ts';
import { cosmosModelFromCheckpoint } from './load.ts';
import { type CosmosModel, cosmosModel } from './model.ts';
import { PRESETS, configFromShapes } from './presets.ts';

setupTestGpu();

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'cosmos');
const fixture = JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')) as {
  inputs: Record<'images' | 'local_images' | 'ids', FixtureTensor>;
  weights: Record<'student' | 'teacher', Record<string, FixtureTensor>>;
};
const config = fromOpenClipConfig(JSON.parse(readFileSync(join(DIR, 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);

type Nested = Float32Array | Nested[];
const flat = (rows: Nested): number[] => (rows instanceof Float32Array ? Array.from(rows) : rows.flatMap(flat));
const imageRows = (t: FixtureTensor): Float32Array[] => {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => Float32Array.from(t.data.slice(i * per, (i + 1) * per)));
};
const idRows = (t: FixtureTensor): Int32Array[] => Array.from({ length: t.shape[0]! }, (_, i) => Int32Array.from(t.data.slice(i * 77, (i + 1) * 77)));

// Two transformer towers of two blocks, poolers and projections in float32 against PyTorch's float32: a few
// 1e-7 per op compound to ~1e-6 relative; 1e-4 still catches any wrong op (those are off by 1e-2 or more).
const TOL = { rtol: 1e-4, atol: 2e-5 };

describe('COSMOS model on a checkpoint written by torch.save, against the OpenCLIP-based PyTorch reference', () => {
  it('infers the released architectures from their state_dict shapes (head width 64), as their configs give', () => {
    const released = JSON.parse(readFileSync(join(DIR, 'released-shapes.json'), 'utf8')) as Record<
      string,
      { config: OpenClipModelConfig; shapes: Record<string, number[]>; parameters: number }
    >;
    for (const [name, preset] of [
      ['ViT-B-16', PRESETS['ViT-B/16']],
      ['ViT-B-32', PRESETS['ViT-B/32']],
    ] as const) {
      const r = released[name]!;
      expect(inferConfig(new Map(Object.entries(r.shapes)))).toEqual(preset);
      expect(fromOpenClipConfig(r.config)).toEqual(preset);
    }
    expect(released['ViT-B-16']!.parameters).toBe(152_382_466); // COSMOS-SPEC section 8
  });

  it('recognises a preset from its shapes, where heads narrower than 64 cannot be inferred', () => {
    const model = cosmosModel(PRESETS.tiny, 0);
    const shapes = new Map(model.namedParameters().map(([k, t]) => [k, t.shape]));
    model.dispose();
    expect(inferConfig(shapes).vision.heads).toBe(1); // width 64 read as one 64-wide head
    expect(configFromShapes(shapes)).toEqual(PRESETS.tiny); // the preset's 2 heads of 32
  });

  it('names and shapes its parameters exactly as the reference state_dict, in the same order', async () => {
    const source = await fileSource(join(DIR, 'tiny.pt'));
    const checkpoint = await loadCheckpoint(source);
    await source.close();
    const model = cosmosModel(config, 0);
    expect(model.namedParameters().map(([k, t]) => [k, [...t.shape]])).toEqual([...checkpoint.tensors].map(([k, t]) => [k, [...t.shape]]));
    model.dispose();
  });

  for (const weights of ['student', 'teacher'] as const) {
    describe(`${weights} weights`, () => {
      let model: CosmosModel;
      let out: EmbedOutput;
      const expected = fixture.weights[weights];
      beforeAll(async () => {
        const source = await fileSource(join(DIR, 'tiny.pt'));
        model = await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0, { config });
        await source.close();
        out = await embed(model, imageRows(fixture.inputs.images), idRows(fixture.inputs.ids), { attention: true });
      });
      afterAll(() => model?.dispose());

      it('image and text embeddings and logits', () => {
        expectClose(flat(out.imageEmbeddings), expected.image_embeddings!, TOL, 'image embeddings');
        expectClose(flat(out.textEmbeddings), expected.text_embeddings!, TOL, 'text embeddings');
        expectClose(flat(out.logits), expected.logits!, { rtol: 1e-4, atol: 1e-3 }, 'logits'); // logits are 14x the cosines
      });

      it('patch-wise and token-wise cross-attention maps, mean over heads and per head', () => {
        expectClose(flat(out.imageAttention!), expected.image_attention!, TOL, 'image attention');
        expectClose(flat(out.imageAttentionHeads!), expected.image_attention_heads!, TOL, 'image attention per head');
        expectClose(flat(out.textAttention!), expected.text_attention!, TOL, 'text attention');
      });

      it("text embeddings from the positions up to the batch's last EOT alone, as the causal mask allows", async () => {
        const ids = Int32Array.from(fixture.inputs.ids.data);
        const [full, truncated] = await scopeAsync(() =>
          noGradAsync(async () => [await model.encodeText([ids]).global.readFloat(), await model.encodeText([ids], 'global').global.readFloat()]),
        );
        // The same arithmetic on every position kept (row-wise products, masked keys adding exact zeros): equal bits.
        expect(truncated).toEqual(full);
        // The rows of 5 and 12 tokens alone: the tower runs on 12 positions, not 77.
        const short = Int32Array.from(fixture.inputs.ids.data.slice(0, 2 * 77));
        const alone = await scopeAsync(() => noGradAsync(() => model.encodeText([short], 'global').global.readFloat()));
        expect(alone).toEqual(full.subarray(0, alone.length));
      });

      it('a local crop through the bicubic-interpolated positional embedding', async () => {
        const local = fixture.inputs.local_images;
        const got = await scopeAsync(() => noGrad(() => l2Normalize(model.encodeImage(fromArray(local.data, local.shape)).global).readFloat()));
        expectClose(got, expected.local_image_embeddings!, TOL, 'local crop embeddings');
      });

      it('cross-modal embeddings img_x and txt_x, and dense (SCLIP) features', async () => {
        const imgs = fixture.inputs.images;
        const ids = fixture.inputs.ids;
        const got = await scopeAsync(() =>
          noGradAsync(async () => {
            const image = model.encodeImage(fromArray(imgs.data, imgs.shape));
            const text = model.encodeText([Int32Array.from(ids.data.slice(0, 2 * 77))]);
            const imageX = model.cosmos.crossModalEmbedding(image.global, model.cosmos.imageAttendsText(image.global, model.cosmos.textTokens(text)).out);
            const textX = model.cosmos.crossModalEmbedding(text.global, model.cosmos.textAttendsImage(text.global, model.cosmos.imageTokens(image)).out);
            const dense = matmul(image.patches, model.visual.proj);
            return { imageX: await imageX.readFloat(), textX: await textX.readFloat(), dense: await dense.readFloat() };
          }),
        );
        expectClose(got.imageX, expected.image_cross!, TOL, 'img_x');
        expectClose(got.textX, expected.text_cross!, TOL, 'txt_x');
        expectClose(got.dense, expected.dense_features!, TOL, 'dense features');
      });
    });
  }
});
