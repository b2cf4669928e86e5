/**
 * `embed --attention` and `loss` on models that the COSMOS reference's own code built (scripts/fixtures/
 * reference_poolers.py, ExplainableML/cosmos's fork of OpenCLIP) at embed_dim 32 and 64, from OpenCLIP configs
 * that do not name the poolers' heads: OpenCLIP's default, 8 heads, must be what the config means.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { cliJson, tempDir } from '../testing/cli.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'reference');
interface Fixture {
  texts: string[];
  images: string[];
  models: Record<
    string,
    {
      embed: Record<'image_embeddings' | 'text_embeddings' | 'logits' | 'image_attention' | 'text_attention', { shape: number[]; data: number[] }> & {
        pooler_heads: [number, number];
      };
      loss: { clip: number; cosmos: number; total: number };
    }
  >;
}
const fixture = JSON.parse(readFileSync(join(DIR, 'poolers.json'), 'utf8')) as Fixture;

/** float32 arithmetic in a different order than PyTorch's: a few ulps of the largest value, well inside 1e-5. */
const TOLERANCE = 1e-5;

function expectCloseTo(got: unknown, want: { shape: number[]; data: number[] }, what: string): void {
  const flat = (got as unknown[]).flat(3) as number[];
  expect(flat, what).toHaveLength(want.data.length);
  const worst = Math.max(...flat.map((v, i) => Math.abs(v - want.data[i]!)));
  expect(worst, `${what}: largest difference`).toBeLessThan(TOLERANCE);
}

async function checkpoint(name: string): Promise<string> {
  const path = join(tmp.dir, `${name}.pt`);
  await writeFile(path, gunzipSync(readFileSync(join(DIR, `${name}.pt.gz`))));
  return path;
}

describe.each(Object.keys(fixture.models))('the reference model %s, its config without attn_pooler_heads', (name) => {
  const want = fixture.models[name]!;
  const configPath = join(DIR, `${name}-config.json`);

  it('means OpenCLIP default of 8 heads for both poolers', () => {
    const json = JSON.parse(readFileSync(configPath, 'utf8')) as OpenClipModelConfig;
    expect(json.vision_cfg.attn_pooler_heads).toBeUndefined();
    expect(json.text_cfg.attn_pooler_heads).toBeUndefined();
    const config = fromOpenClipConfig(json);
    expect([config.vision.attnPoolerHeads, config.text.attnPoolerHeads]).toEqual(want.embed.pooler_heads);
    expect(want.embed.pooler_heads).toEqual([8, 8]);
  });

  it('embed --attention: embeddings, logits and both poolers maps as the reference computes them', async () => {
    const ckpt = await checkpoint(name);
    const images = fixture.images.map((f) => join(DIR, f));
    const out = await cliJson(runtime, 'embed', '--checkpoint', ckpt, '--config', configPath, '--image', ...images, '--text', ...fixture.texts, '--attention');
    for (const key of ['image_embeddings', 'text_embeddings', 'logits', 'image_attention', 'text_attention'] as const) {
      expectCloseTo(out[key], want.embed[key], key);
    }
  });

  it('loss: L_clip, L_cosmos and the total of the reference forward and COSMOSLoss', async () => {
    const ckpt = await checkpoint(name);
    const out = await cliJson<{ clip: number; cosmos: number; total: number }>(
      runtime,
      'loss',
      '--checkpoint',
      ckpt,
      '--config',
      configPath,
      '--batch',
      join(DIR, `${name}-batch.json`),
    );
    for (const key of ['clip', 'cosmos', 'total'] as const) expect(Math.abs(out[key] - want.loss[key]), key).toBeLessThan(TOLERANCE);
  });
});
