/**
 * Plain CLIP models as people hold them load and give the embeddings PyTorch gives (fixtures/clip, made by
 * scripts/fixtures/plain_clip.py with OpenCLIP's own CLIP): an OpenCLIP hub folder (QuickGELU, its config beside),
 * OpenCLIP's DDP training file in float16 (config given), a TorchScript archive in float16 (architecture from its
 * shapes), and a transformers CLIPModel folder (GELU, LayerNorm eps 1e-6). What is not a CLIP ViT is refused in one
 * sentence that names what was found and what was expected.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySink } from '../checkpoint/byteSink.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { type ModelFiles, type OpenedModel, openModelFiles } from '../checkpoint/modelFiles.ts';
import { nodeModelFiles } from '../checkpoint/nodeFiles.ts';
import { writeSafetensors } from '../checkpoint/safetensors.ts';
import type { TensorSource } from '../checkpoint/tensorRef.ts';
import { embed } from '../eval/embed.ts';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from './config.ts';
import { modelFromCheckpoint } from './load.ts';
import { describeSource, kindOf, type ModelSource, resolveConfig } from './modelSource.ts';

setupTestGpu();

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'clip');
type Embeddings = Record<'image_embeddings' | 'text_embeddings' | 'logits', FixtureTensor>;
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as Record<string, Embeddings> & {
  inputs: Record<'images' | 'ids', FixtureTensor>;
  configs: Record<string, OpenClipModelConfig>;
};
const rowsOf = <T>(t: FixtureTensor, make: (values: number[]) => T): T[] => {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => make(t.data.slice(i * per, (i + 1) * per)));
};
const images = rowsOf(expected.inputs.images, (v) => Float32Array.from(v));
const ids = rowsOf(expected.inputs.ids, (v) => Int32Array.from(v));

/** Opens `path` as the CLI does, and embeds the fixture's inputs. */
async function embedded(path: string, configFile?: string) {
  const files = await nodeModelFiles(join(DIR, path));
  try {
    const opened = await openModelFiles(files);
    const given = configFile ? { config: fromOpenClipConfig(JSON.parse(readFileSync(join(DIR, configFile), 'utf8'))), from: configFile } : undefined;
    const resolved = resolveConfig(opened, path, given);
    const model = await modelFromCheckpoint(opened, { config: resolved.config });
    try {
      expect(model.cosmos).toBeNull();
      return { source: describeSource(opened, path, resolved), out: await embed(model, images, ids) };
    } finally {
      model.dispose();
    }
  } finally {
    await files.close();
  }
}

const flat = (rows: Float32Array[]) => rows.flatMap((r) => [...r]);

const CASES: [string, string | undefined, Partial<ModelSource>][] = [
  ['openclip-hub', undefined, { kind: 'OpenCLIP', dtype: 'float32', configFrom: 'open_clip_config.json' }],
  ['openclip-ddp.bin', 'openclip-config.json', { kind: 'OpenCLIP', dtype: 'float16', configFrom: 'openclip-config.json' }],
  ['scripted.pt', undefined, { kind: 'OpenCLIP', dtype: 'float16', configFrom: "the shapes, with OpenAI's QuickGELU" }],
  ['huggingface', undefined, { kind: 'Hugging Face', dtype: 'float32', configFrom: 'config.json' }],
];

describe('plain CLIP models against OpenCLIP in PyTorch', () => {
  for (const [path, configFile, source] of CASES) {
    it(`${path}: the embeddings and logits PyTorch gives`, async () => {
      const { source: got, out } = await embedded(path, configFile);
      expect(got).toMatchObject(source);
      const want = expected[path]!;
      // The bound, 1e-5, on unit-length embeddings; measured at most 4.3e-7 (a few float32 ulps after two
      // blocks per tower). Logits are exp(logit_scale) ~ 14 times a cosine: measured at most 2.9e-6 (2e-7 relative).
      const TOL = { rtol: 0, atol: 1e-5 };
      expectClose(flat(out.imageEmbeddings), want.image_embeddings, TOL, 'image embeddings');
      expectClose(flat(out.textEmbeddings), want.text_embeddings, TOL, 'text embeddings');
      expectClose(flat(out.logits), want.logits, { rtol: 1e-5, atol: 1e-5 }, 'logits');
    });
  }
});

/** Files in memory, by name. */
function inMemory(name: string, files: Record<string, Uint8Array>): ModelFiles {
  return { name, names: Object.keys(files), chosen: null, open: async (file) => bytesSource(files[file]!, file) };
}

async function safetensorsBytes(tensors: ReadonlyMap<string, TensorSource>): Promise<Uint8Array> {
  const sink = memorySink();
  await writeSafetensors(tensors, sink);
  return sink.bytes();
}

/** A safetensors file of zero tensors of these shapes. */
function safetensorsOf(shapes: Record<string, number[]>): Promise<Uint8Array> {
  const zeros = (shape: number[]) => ({ shape, read: async () => new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  return safetensorsBytes(new Map(Object.entries(shapes).map(([name, shape]) => [name, zeros(shape)])));
}

/** The sentence a model's files are refused with. */
async function refusal(files: ModelFiles): Promise<string> {
  try {
    resolveConfig(await openModelFiles(files), files.name);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${files.name} was not refused`);
}

describe('a sharded Hugging Face folder', () => {
  it('reads the shards its index names, as one model', async () => {
    const folder = join(DIR, 'huggingface');
    const config = readFileSync(join(folder, 'config.json'));
    const weights = readFileSync(join(folder, 'model.safetensors'));
    // The fixture's weights, under transformers' names, split in two shards.
    const original = (await loadCheckpoint(bytesSource(weights, 'model.safetensors'))).tensors;
    const names = [...original.keys()];
    const half = Math.floor(names.length / 2);
    const shards = ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors'];
    const shard = (part: string[]) => safetensorsBytes(new Map(part.map((n) => [n, original.get(n)!])));
    const index = { metadata: {}, weight_map: Object.fromEntries(names.map((n, i) => [n, shards[i < half ? 0 : 1]])) };
    const sharded = await openModelFiles(
      inMemory('sharded', {
        'config.json': config,
        'model.safetensors.index.json': new TextEncoder().encode(JSON.stringify(index)),
        [shards[0]!]: await shard(names.slice(0, half)),
        [shards[1]!]: await shard(names.slice(half)),
      }),
    );
    const whole = await openModelFiles(inMemory('whole', { 'config.json': config, 'model.safetensors': weights }));
    expect(sharded.weightsFiles).toEqual(shards);
    expect([...sharded.tensors.keys()].sort()).toEqual([...whole.tensors.keys()].sort());
    for (const [name, t] of whole.tensors) expect(await sharded.tensors.get(name)!.read(), name).toEqual(await t.read());
  });
});

describe('what a model is called', () => {
  it("COSMOS by its parts; a TorchScript archive is OpenAI's unless OpenCLIP scripted it; Hugging Face by its names", () => {
    const opened = (names: string[], meta: Partial<OpenedModel['meta']>, naming: OpenedModel['names'] = 'openclip') =>
      ({ tensors: new Map(names.map((n) => [n, null])), meta: { format: 'pt', ...meta }, names: naming }) as unknown as OpenedModel;
    expect(kindOf(opened(['visual.proj', 'distill_logit_scale'], {}))).toBe('COSMOS');
    expect(kindOf(opened(['visual.proj'], { format: 'torchscript', scriptClass: '__torch__.multimodal.model.multimodal_transformer.Multimodal' }))).toBe(
      'OpenAI',
    );
    expect(kindOf(opened(['visual.proj'], { format: 'torchscript', scriptClass: '__torch__.open_clip.model.CLIP' }))).toBe('OpenCLIP');
    expect(kindOf(opened(['visual.proj'], { format: 'safetensors' }, 'huggingface'))).toBe('Hugging Face');
    expect(kindOf(opened(['visual.proj'], { format: 'safetensors' }))).toBe('OpenCLIP');
  });
});

describe("OpenAI's TorchScript layouts, from their shapes alone", () => {
  // scripts/fixtures/openai_shapes.py: OpenCLIP's CLIP built from its configs for OpenAI's weights.
  const layouts = JSON.parse(readFileSync(join(DIR, 'openai-shapes.json'), 'utf8')) as Record<
    string,
    { config: OpenClipModelConfig; shapes: Record<string, number[]> }
  >;
  it.each([
    ['ViT-B-32-quickgelu', 'ViT-B/32'],
    ['ViT-B-16-quickgelu', 'ViT-B/16'],
    ['ViT-L-14-quickgelu', 'ViT-L/14'],
  ])('%s: read as %s with QuickGELU, as OpenCLIP configures it', (name, architecture) => {
    const { config, shapes } = layouts[name]!;
    const archive = {
      tensors: new Map(Object.entries(shapes).map(([key, shape]) => [key, { shape }])),
      meta: { format: 'torchscript', scriptClass: '__torch__.multimodal.model.multimodal_transformer.Multimodal', dtypes: { float16: 1 } },
      names: 'openclip',
      configFile: null,
    } as unknown as OpenedModel;
    const resolved = resolveConfig(archive, `${name}.pt`);
    expect(resolved.config).toEqual(fromOpenClipConfig(config));
    expect(describeSource(archive, `${name}.pt`, resolved)).toEqual({
      name: `${name}.pt`,
      kind: 'OpenAI',
      architecture: `${architecture}, QuickGELU`,
      dtype: 'float16',
      configFrom: "the shapes, with OpenAI's QuickGELU",
    });
  });
});

describe('what is not a CLIP ViT is refused in one sentence: what was found, what was expected', () => {
  it('a TorchScript archive of another model', async () => {
    const files = await nodeModelFiles(join(DIR, 'resnet-scripted.pt'));
    const message = await refusal(files).finally(() => files.close());
    expect(message).toMatch(
      /resnet-scripted\.pt is a TorchScript archive of __torch__\.torch\.nn\.modules\.container\.(___torch_mangle_\d+\.)?Sequential: it holds 7 tensors named like 0\.weight, 0\.bias, 1\.weight, 1\.bias, not a CLIP ViT, which has visual\.conv1\.weight, .*token_embedding\.weight/,
    );
  });

  it('a Hugging Face config of another architecture', async () => {
    const hf = join(DIR, 'huggingface');
    const files = inMemory('siglip', {
      'config.json': readFileSync(join(DIR, 'siglip-config.json')),
      'model.safetensors': readFileSync(join(hf, 'model.safetensors')),
    });
    expect(await refusal(files)).toBe(
      'config.json describes a Hugging Face siglip model (SiglipModel), not a CLIPModel (model_type "clip", architectures ["CLIPModel"])',
    );
  });

  it('Hugging Face weights without their config', async () => {
    const files = inMemory('hf', { 'model.safetensors': readFileSync(join(DIR, 'huggingface', 'model.safetensors')) });
    await expect(openModelFiles(files)).rejects.toThrow(
      'model.safetensors holds Hugging Face CLIPModel weights, which need their config.json: choose the folder, or the two files together',
    );
  });

  it('shapes that fit no CLIP ViT', async () => {
    const resnet = await safetensorsOf({ 'visual.layer1.0.conv1.weight': [64, 64, 1, 1], 'visual.attnpool.positional_embedding': [50, 2048] });
    expect(await refusal(inMemory('rn50.safetensors', { 'rn50.safetensors': resnet }))).toMatch(
      /^rn50\.safetensors: its image tower is a ResNet .*: only ViT towers are implemented$/,
    );
    const clipLike = {
      'visual.conv1.weight': [64, 3, 8, 8],
      'visual.positional_embedding': [11, 64],
      'visual.proj': [64, 32],
      'token_embedding.weight': [500, 64],
      positional_embedding: [77, 64],
      text_projection: [64, 32],
    };
    expect(await refusal(inMemory('odd.safetensors', { 'odd.safetensors': await safetensorsOf(clipLike) }))).toBe(
      'odd.safetensors: the shapes fit no CLIP ViT: visual.positional_embedding has 11 rows, not a square grid of patches plus the class token',
    );
  });
});
