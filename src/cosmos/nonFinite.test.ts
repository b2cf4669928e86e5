/**
 * A checkpoint whose tensors hold NaN and infinities (fixtures/odd/nan-weights.pt: torch's own float16 save of the
 * tiny COSMOS student, poisoned by scripts/fixtures/odd_files.py) loads, and the loader says which tensors hold
 * how many, as torch counts them (fixtures/odd/expected.json).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fileSource } from '../checkpoint/nodeFiles.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from './config.ts';
import { modelFromCheckpoint, type NonFiniteTensor, nonFiniteWarning } from './load.ts';

setupTestGpu();

const FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures');
const config = fromOpenClipConfig(JSON.parse(readFileSync(join(FIXTURES, 'cosmos', 'tiny-config.json'), 'utf8')) as OpenClipModelConfig);
const expected = (JSON.parse(readFileSync(join(FIXTURES, 'odd', 'expected.json'), 'utf8')) as Record<string, unknown>)['nan-weights.pt'] as Record<
  string,
  { nan: number; inf: number }
>;

describe('a checkpoint whose tensors hold NaN or infinities', () => {
  it('loads, and names each such tensor with its counts of NaN and infinite values, as torch counts them', async () => {
    const source = await fileSource(join(FIXTURES, 'odd', 'nan-weights.pt'));
    let found: NonFiniteTensor[] = [];
    try {
      const model = await modelFromCheckpoint(await loadCheckpoint(source), { config, onNonFinite: (tensors) => (found = tensors) });
      model.dispose();
    } finally {
      await source.close();
    }
    const byName = Object.fromEntries(found.map((t) => [t.name, { nan: t.nan, inf: t.infinite }]));
    expect(byName).toEqual(expected);

    const warning = nonFiniteWarning('nan-weights.pt', found);
    expect(warning).not.toContain('\n');
    expect(warning).toMatch(/^Warning: in nan-weights\.pt, 3 tensors hold NaN or infinite values \(/);
    for (const name of Object.keys(expected)) expect(warning).toContain(name);
    expect(warning).toContain('visual.proj: 3 NaN');
    expect(warning).toContain('logit_scale: 1 infinite');
  });

  it('says nothing of a checkpoint whose values are all finite', async () => {
    const source = await fileSource(join(FIXTURES, 'cosmos', 'tiny.pt'));
    let called = false;
    try {
      const model = await modelFromCheckpoint(await loadCheckpoint(source), { config, onNonFinite: () => (called = true) });
      model.dispose();
    } finally {
      await source.close();
    }
    expect(called).toBe(false);
  });
});
