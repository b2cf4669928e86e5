/**
 * `explain` against PyTorch (fixtures/relevance, scripts/fixtures/relevance.py): Chefer, Gur & Wolf's relevance of
 * every pair on a COSMOS checkpoint through the reference's own classes and on a plain CLIP checkpoint through
 * OpenCLIP's released CLIP, each block's attention recomputed explicitly there, from block 0 and from the last block.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, cliJson, tempDir } from '../testing/cli.ts';
import { expectClose } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'relevance');
type Maps = Record<'image_relevance' | 'text_relevance', number[][][]>;
interface Expected {
  images: string[];
  models: Record<
    string,
    {
      checkpoint: string;
      config: string;
      texts: string[];
      logits: number[][];
      start_layers: Record<'0' | 'last', { vision: number; text: number }>;
      relevance: Record<'0' | 'last', Maps>;
    }
  >;
}
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Expected;

// Relevance near 1 (R = I + ...) summed from products of float32 gradients and probabilities in another order than
// PyTorch's: measured at most 2.1e-6 apart (the plain CLIP text maps from block 0, values up to 2.5); a wrong block,
// head or mask is off by O(0.01-1).
const TOLERANCE = { rtol: 0, atol: 1e-5 };

async function unpacked(name: string, gz: string): Promise<string> {
  const path = join(tmp.dir, `${name}.pt`);
  await writeFile(path, gunzipSync(readFileSync(join(DIR, gz))));
  return path;
}

describe.each(Object.keys(expected.models))('explain on the %s fixture model', (name) => {
  const want = expected.models[name]!;
  const args = async () => [
    'explain',
    '--checkpoint',
    await unpacked(name, want.checkpoint),
    '--config',
    join(DIR, want.config),
    '--image',
    ...expected.images.map((f) => join(DIR, f)),
    '--text',
    ...want.texts,
  ];

  it.each([
    ['block 0', ['--start-layer', '0'], '0'],
    ['the last block (the default)', [], 'last'],
  ] as const)('from %s: image_relevance and text_relevance of every pair as PyTorch computes them', async (_, flags, key) => {
    const out = await cliJson<Maps & { grid: number[]; start_layer: unknown; logits: number[][] }>(runtime, ...(await args()), ...flags);
    expect(out.grid).toEqual([4, 4]);
    expectClose(out.logits.flat(), want.logits.flat(), { rtol: 1e-5, atol: 1e-5 }, 'the scores explained');
    expect(out.start_layer).toEqual(want.start_layers[key]);
    for (const map of ['image_relevance', 'text_relevance'] as const) {
      const shape = [expected.images.length, want.texts.length, map === 'image_relevance' ? 16 : 77];
      expect([out[map].length, out[map][0]!.length, out[map][0]![0]!.length], map).toEqual(shape);
      expectClose(out[map].flat(2), want.relevance[key][map].flat(2), TOLERANCE, `${name} ${map} from ${key}`);
    }
  });

  it('a start layer past the last block is refused in one sentence', async () => {
    const run = await cli(runtime, ...(await args()), '--start-layer', '7');
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toMatch(
      /^cosmos explain: start layer 7: the vision tower has \d blocks, so the start layer is one of 0 to \d$/,
    );
  });
});
