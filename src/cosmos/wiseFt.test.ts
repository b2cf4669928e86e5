import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { embed } from '../eval/embed.ts';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { type OpenClipModelConfig, fromOpenClipConfig } from './config.ts';
import { cosmosModelFromCheckpoint } from './load.ts';
import { type CosmosModel, cosmosModel } from './model.ts';
import { PRESETS } from './presets.ts';
import { wiseFt } from './wiseFt.ts';

setupTestGpu();

const DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'cosmos');
const config = fromOpenClipConfig(JSON.parse(readFileSync(join(DIR, 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);
const inputs = (JSON.parse(readFileSync(join(DIR, 'model.json'), 'utf8')) as { inputs: Record<'images' | 'ids', FixtureTensor> }).inputs;
// scripts/fixtures/wise_ft.py: tiny.pt's teacher as theta_0 and its student as theta_1, mixed by PyTorch.
const fixture = JSON.parse(readFileSync(join(DIR, 'wise-ft.json'), 'utf8')) as {
  alpha: number;
  parameters: Record<string, FixtureTensor>;
  image_embeddings: FixtureTensor;
  text_embeddings: FixtureTensor;
};

// Two towers of float32 ops against PyTorch's float32, as model.test.ts checks the unmixed weights.
const TOWERS = { rtol: 1e-4, atol: 2e-5 };

const rows = <T extends Float32Array | Int32Array>(t: FixtureTensor, make: (d: number[]) => T): T[] => {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => make(t.data.slice(i * per, (i + 1) * per)));
};
const parameter = (model: CosmosModel, name: string) => {
  const found = model.namedParameters().find(([k]) => k === name);
  if (!found) throw new Error(`the model has no ${name}`);
  return found[1].readFloat();
};

describe('WiSE-FT: theta = (1 - alpha) theta_0 + alpha theta_1, against PyTorch mixing the same state_dicts', () => {
  let zero: CosmosModel;
  let one: CosmosModel;
  beforeAll(async () => {
    const load = async (weights: 'student' | 'teacher') => {
      const source = await fileSource(join(DIR, 'tiny.pt'));
      try {
        return await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0, { config });
      } finally {
        await source.close();
      }
    };
    zero = await load('teacher');
    one = await load('student');
  });
  afterAll(() => {
    zero?.dispose();
    one?.dispose();
  });

  it("mixes every parameter as PyTorch does, and the mixed model's embeddings are the reference model's on the mixed state_dict", async () => {
    const mixed = wiseFt(zero, one, fixture.alpha);
    try {
      for (const [name, expected] of Object.entries(fixture.parameters)) {
        expectClose(await parameter(mixed, name), expected, { rtol: 1e-6, atol: 1e-7 }, name);
      }
      const out = await embed(
        mixed,
        rows(inputs.images, (d) => Float32Array.from(d)),
        rows(inputs.ids, (d) => Int32Array.from(d)),
      );
      expectClose(
        out.imageEmbeddings.flatMap((r) => [...r]),
        fixture.image_embeddings,
        TOWERS,
        'image embeddings',
      );
      expectClose(
        out.textEmbeddings.flatMap((r) => [...r]),
        fixture.text_embeddings,
        TOWERS,
        'text embeddings',
      );
    } finally {
      mixed.dispose();
    }
  });

  it('leaves both models as they were, and alpha 0 and 1 give back theta_0 and theta_1 exactly', async () => {
    const before = await parameter(one, 'visual.proj');
    const [atZero, atOne] = [wiseFt(zero, one, 0), wiseFt(zero, one, 1)];
    try {
      for (const [name] of zero.namedParameters()) {
        expect(await parameter(atZero, name), name).toEqual(await parameter(zero, name));
        expect(await parameter(atOne, name), name).toEqual(await parameter(one, name));
      }
      expect(await parameter(one, 'visual.proj')).toEqual(before);
    } finally {
      atZero.dispose();
      atOne.dispose();
    }
  });

  it('refuses a weight outside [0, 1] and models of different architectures, saying why', () => {
    expect(() => wiseFt(zero, one, 1.5)).toThrow('WiSE-FT mixes with a weight between 0 and 1, not 1.5');
    expect(() => wiseFt(zero, one, Number.NaN)).toThrow('WiSE-FT mixes with a weight between 0 and 1, not NaN');
    const other = cosmosModel(PRESETS.tiny, 0);
    try {
      expect(() => wiseFt(other, one, 0.5)).toThrow(/^WiSE-FT needs both models to have the same weights: \S+ is \[[\d,]+\] and \[[\d,]+\]$/);
    } finally {
      other.dispose();
    }
  });
});
