/** Test support: fixtures/zero-shot.json (scripts/fixtures/zero_shot.py) and the tiny.pt model it was computed with. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { cosmosModelFromCheckpoint } from '../cosmos/load.ts';
import type { CosmosModel } from '../cosmos/model.ts';
import { loadFixture, type FixtureCase, type FixtureTensor } from '../testing/fixtures.ts';

const COSMOS_FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'cosmos');

export function zeroShotCase(name: string): FixtureCase {
  const found = loadFixture('zero-shot').find((c) => c.name === name);
  if (!found) throw new Error(`fixtures/zero-shot.json has no case ${name}`);
  return found;
}

export async function tinyModel(weights: 'student' | 'teacher'): Promise<CosmosModel> {
  const config = fromOpenClipConfig(JSON.parse(readFileSync(join(COSMOS_FIXTURES, 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);
  const source = await fileSource(join(COSMOS_FIXTURES, 'tiny.pt'));
  try {
    return await cosmosModelFromCheckpoint(await loadCheckpoint(source, { weights }), 0, { config });
  } finally {
    await source.close();
  }
}

/** The first axis of a fixture tensor as float rows. */
export function floatRows(t: FixtureTensor): Float32Array[] {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => Float32Array.from(t.data.slice(i * per, (i + 1) * per)));
}

/** The first axis of a fixture tensor as token id rows. */
export function idRows(t: FixtureTensor): Int32Array[] {
  const per = t.data.length / t.shape[0]!;
  return Array.from({ length: t.shape[0]! }, (_, i) => Int32Array.from(t.data.slice(i * per, (i + 1) * per)));
}
