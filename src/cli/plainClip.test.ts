/**
 * The CLI on plain CLIP models (fixtures/clip, made by scripts/fixtures/plain_clip.py with OpenCLIP's own CLIP):
 * inspect names what each is; export writes OpenCLIP hub and Hugging Face CLIPModel folders that we read back to the
 * same embeddings, and that PyTorch reads back (live: OpenCLIP's create_model("local-dir:..."), transformers'
 * CLIPConfig) to the embeddings PyTorch gave for the originals.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openModelFiles } from '../checkpoint/modelFiles.ts';
import { nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { modelFromCheckpoint } from '../cosmos/load.ts';
import { resolveConfig } from '../cosmos/modelSource.ts';
import { embed } from '../eval/embed.ts';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { cli, cliJson, tempDir, writeTestCheckpoint, writeTestPng } from '../testing/cli.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { livePythonScript, PYTHON } from '../testing/python.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'clip');
const LIVE = livePythonScript('plain_clip.py');
type Embeddings = Record<'image_embeddings' | 'text_embeddings' | 'logits', FixtureTensor>;
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Embeddings> & {
  inputs: Record<'images' | 'ids', FixtureTensor>;
};
const rowsOf = <T>(t: FixtureTensor, make: (values: number[]) => T): T[] => {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => make(t.data.slice(i * per, (i + 1) * per)));
};
const flat = (rows: Float32Array[]) => rows.flatMap((r) => [...r]);

// Unit-length embeddings and logits ~14: the same bounds as the loaders' own tests (src/cosmos/plainClip.test.ts),
// measured there at most 4.3e-7 and 2.9e-6.
const EMBEDDINGS = { rtol: 0, atol: 1e-5 };
const LOGITS = { rtol: 1e-5, atol: 1e-5 };

type Flat = { images: ArrayLike<number>; texts: ArrayLike<number>; logits: ArrayLike<number> };
const fromEmbed = (out: { imageEmbeddings: Float32Array[]; textEmbeddings: Float32Array[]; logits: Float32Array[] }): Flat => ({
  images: flat(out.imageEmbeddings),
  texts: flat(out.textEmbeddings),
  logits: flat(out.logits),
});
const fromJson = (e: Embeddings): Flat => ({ images: e.image_embeddings.data, texts: e.text_embeddings.data, logits: e.logits.data });

function expectEmbeddings(got: Flat, want: Embeddings) {
  expectClose(got.images, want.image_embeddings, EMBEDDINGS, 'image embeddings');
  expectClose(got.texts, want.text_embeddings, EMBEDDINGS, 'text embeddings');
  expectClose(got.logits, want.logits, LOGITS, 'logits');
}

/** Our embeddings of a model folder or file, as the CLI opens it. */
async function ourEmbeddings(path: string) {
  const files = await nodeModelFiles(path);
  try {
    const opened = await openModelFiles(files);
    const model = await modelFromCheckpoint(opened, { config: resolveConfig(opened, path).config });
    try {
      return await embed(
        model,
        rowsOf(expected.inputs.images, (v) => Float32Array.from(v)),
        rowsOf(expected.inputs.ids, (v) => Int32Array.from(v)),
      );
    } finally {
      model.dispose();
    }
  } finally {
    await files.close();
  }
}

describe('inspect names what a plain CLIP model is', () => {
  it.each([
    ['openclip-hub', 'OpenCLIP', 'safetensors', 'open_clip_config.json'],
    ['scripted.pt', 'OpenCLIP', 'torchscript', null],
    ['huggingface', 'Hugging Face', 'safetensors', 'config.json'],
  ])('%s: %s, %s', async (path, kind, format, configFile) => {
    const out = await cliJson(runtime, 'inspect', '--checkpoint', join(DIR, path));
    expect(out).toMatchObject({ kind, format, config_file: configFile, weights: 'state_dict' });
    expect(out.config).not.toBeNull();
  });
});

describe('export to an OpenCLIP hub folder and to a Hugging Face CLIPModel folder', () => {
  const ROUND_TRIPS: [string, 'openclip' | 'huggingface'][] = [
    ['scripted.pt', 'openclip'],
    ['scripted.pt', 'huggingface'],
    ['huggingface', 'openclip'],
    ['openclip-hub', 'huggingface'],
  ];
  for (const [source, format] of ROUND_TRIPS) {
    const out = join(tmp.dir, `${source}-${format}`);
    it(`${source} -> ${format}: read back to the embeddings PyTorch gives for ${source}`, async () => {
      const written = await cliJson(runtime, 'export', '--checkpoint', join(DIR, source), '--format', format, '--out', out);
      expect(written).toMatchObject({ format, config_file: join(out, format === 'openclip' ? 'open_clip_config.json' : 'config.json') });
      expectEmbeddings(fromEmbed(await ourEmbeddings(out)), expected[source]!);
    });
    it.skipIf(LIVE.skipped !== null)(
      `${source} -> ${format}: PyTorch reads it back to the same embeddings (live)${LIVE.skipped ? ` (skipped: ${LIVE.skipped})` : ''}`,
      () => {
        const run = spawnSync(PYTHON, [LIVE.path, `embed-${format}`, out], { encoding: 'utf8' });
        if (run.status !== 0) throw new Error(`plain_clip.py embed-${format} failed: ${run.stderr}`);
        expectEmbeddings(fromJson(JSON.parse(run.stdout) as Embeddings), expected[source]!);
      },
    );
  }
});

describe('a plain CLIP model does everything that needs no pooler', () => {
  const plain = join(tmp.dir, 'plain-hf');
  const image = join(tmp.dir, 'a.png');
  it('embed, classify, retrieve and segment (with CSA) run; the cross-attention maps say why there are none', async () => {
    const cosmos = join(tmp.dir, 'cosmos.pt');
    await writeTestCheckpoint(cosmos);
    await cliJson(runtime, 'export', '--checkpoint', cosmos, '--format', 'huggingface', '--out', plain);
    await writeTestPng(image, 40, 32, 1);
    const model = ['--checkpoint', plain, '--image', image];
    const embedded = await cliJson<{ image_embeddings: number[][] }>(runtime, 'embed', ...model, '--text', 'a dog', 'a cat');
    expect(embedded.image_embeddings).toHaveLength(1);
    expect(await cliJson(runtime, 'classify', ...model, '--classes', 'dog,cat')).toMatchObject({ classes: ['dog', 'cat'] });
    expect(await cliJson(runtime, 'retrieve', ...model, '--text', 'a dog')).toHaveProperty('similarity');
    expect(await cliJson(runtime, 'segment', ...model, '--classes', 'dog,cat', '--csa')).toHaveProperty('classes', ['dog', 'cat']);
    const attention = await cli(runtime, 'embed', ...model, '--text', 'a dog', '--attention');
    expect(attention.code).toBe(1);
    expect(attention.stderr.trim().split('\n').at(-1)).toBe(
      'cosmos embed: no cross-attention maps: a plain CLIP model has no cross-attention poolers (COSMOS adds them), so no patch-wise or token-wise maps',
    );
  });
});
