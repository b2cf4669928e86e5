import { openAsBlob } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { memorySink } from './byteSink.ts';
import { blobSource } from './byteSource.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { checkKeys } from './checkKeys.ts';
import { CHECKPOINT_FIXTURES, expectMatchesTorch, expectedFixture, type Described } from '../testing/torchDescribed.ts';
import { loadCheckpoint } from './loadCheckpoint.ts';
import type { TensorSource } from './tensorRef.ts';
import { writeTorchCheckpoint } from './torchWriter.ts';

const open = async (name: string) => blobSource(await openAsBlob(join(CHECKPOINT_FIXTURES, name)), name);

/** The entry `key` of a described dict. */
function entry(d: Described, key: string): Described {
  const items = 'dict' in d ? d.dict : 'odict' in d ? d.odict : [];
  const found = items.find(([k]) => 'str' in k && k.str === key);
  if (!found) throw new Error(`no ${key} in the record`);
  return found[1];
}

/** torch's record of a state_dict with the DDP prefix taken off, as loadCheckpoint gives it. */
function withoutPrefix(d: Described): Described {
  const items = 'odict' in d ? d.odict : [];
  return { odict: items.map(([k, v]) => [{ str: ('str' in k ? k.str : '').replace(/^module\./, '') }, v]) };
}

const COSMOS_NAMES = [
  'positional_embedding',
  'logit_scale',
  'distill_logit_scale',
  'visual.class_embedding',
  'visual.positional_embedding',
  'visual.proj',
  'visual.conv1.weight',
  'visual.transformer.resblocks.0.attn.in_proj_weight',
  'visual.transformer.resblocks.0.attn.in_proj_bias',
  'visual.attn_cross_pool.ln_q.weight',
  'token_embedding.weight',
  'text_projection',
  'image_token_mapping.weight',
  'image_token_mapping.bias',
];

describe('loadCheckpoint', () => {
  it('gives the COSMOS student without the DDP prefix, and the metadata', async () => {
    const { tensors, meta } = await loadCheckpoint(await open('cosmos-tiny.pt'));
    expect([...tensors.keys()].sort()).toEqual([...COSMOS_NAMES].sort());
    await expectMatchesTorch(tensors, withoutPrefix(entry(expectedFixture('cosmos-tiny.pt'), 'student')));
    expect(meta).toEqual({
      format: 'pt',
      weights: 'student',
      topLevelKeys: ['epoch', 'name', 'student', 'teacher', 'optimizer'],
      epoch: 2,
      name: 'cosmos-tiny',
      tensorCount: 14,
      // 8 + 40 + 96 + 192 + 24 + 32 + 4 + 60 + 42 + 24 + 32 + 4 + 1 + 1
      parameterCount: 560,
      dtypes: { float32: 14 },
    });
  });

  it('gives the teacher when asked', async () => {
    const { tensors, meta } = await loadCheckpoint(await open('cosmos-tiny.pt'), { weights: 'teacher' });
    expect(meta.weights).toBe('teacher');
    await expectMatchesTorch(tensors, entry(expectedFixture('cosmos-tiny.pt'), 'teacher'));
  });

  it('takes a bare state_dict as it is, whatever its element types', async () => {
    const { tensors, meta } = await loadCheckpoint(await open('bare-state-dict.pt'));
    await expectMatchesTorch(tensors, expectedFixture('bare-state-dict.pt'));
    expect([meta.weights, meta.epoch, meta.name, meta.tensorCount]).toEqual(['state_dict', null, null, 10]);
    expect(meta.dtypes).toEqual({ float16: 1, bfloat16: 1, float32: 7, int64: 1 });
  });

  it('takes the state_dict of an OpenCLIP training checkpoint', async () => {
    const sink = memorySink();
    const weight: TensorSource = { shape: [2], read: async () => Float32Array.of(1, 2) };
    await writeTorchCheckpoint({ epoch: 5, name: 'open_clip', state_dict: new Map([['module.visual.proj', weight]]), optimizer: {} }, sink);
    const { tensors, meta } = await loadCheckpoint(bytesSource(sink.bytes(), 'epoch_5.pt'));
    expect([[...tensors.keys()], meta.weights, meta.epoch, meta.name]).toEqual([['visual.proj'], 'state_dict', 5, 'open_clip']);
    expect(await tensors.get('visual.proj')!.read()).toEqual(Float32Array.of(1, 2));
  });

  it('reads .safetensors files (F32, F16, BF16) the same way', async () => {
    const { tensors, meta } = await loadCheckpoint(await open('tensors.safetensors'));
    await expectMatchesTorch(tensors, expectedFixture('tensors.safetensors'));
    expect([meta.format, meta.tensorCount, meta.dtypes]).toEqual(['safetensors', 4, { float32: 2, float16: 1, bfloat16: 1 }]);
  });

  it('refuses weights the file does not have, and files of neither format', async () => {
    await expect(loadCheckpoint(await open('bare-state-dict.pt'), { weights: 'teacher' })).rejects.toThrow(
      'bare-state-dict.pt is not a COSMOS checkpoint and has no teacher weights (top-level keys: half, bfloat',
    );
    await expect(loadCheckpoint(await open('written-by-cosmos-web.pt'))).resolves.toMatchObject({ meta: { epoch: 3 } });
    const junk = bytesSource(new Uint8Array(64).fill(7), 'junk.bin');
    await expect(loadCheckpoint(junk)).rejects.toThrow('junk.bin is neither a PyTorch .pt checkpoint (a zip archive) nor a .safetensors file');
  });
});

describe('checkKeys', () => {
  const expected = new Map<string, number[]>([
    ['a', [2, 3]],
    ['b', []],
    ['c', [4]],
  ]);

  it('passes when names and shapes match exactly', () => {
    expect(() =>
      checkKeys(
        expected,
        new Map([
          ['a', { shape: [2, 3] }],
          ['b', { shape: [] }],
          ['c', { shape: [4] }],
        ]),
      ),
    ).not.toThrow();
  });

  it('lists missing, unexpected and mis-shaped keys in one error', () => {
    const got = new Map([
      ['a', { shape: [3, 2] }],
      ['b', { shape: [1] }],
      ['d', { shape: [4] }],
    ]);
    expect(() => checkKeys(expected, got)).toThrow(
      'the checkpoint does not match the model: 1 missing: c; 1 unexpected: d; 2 with another shape: a (checkpoint [3, 2], model [2, 3]), b (checkpoint [1], model [])',
    );
  });

  it('says how many more when the lists are long', () => {
    const many = new Map(Array.from({ length: 20 }, (_, i) => [`k${i}`, [1]] as [string, number[]]));
    expect(() => checkKeys(many, new Map())).toThrow('20 missing: k0, k1, k2, k3, k4, k5, k6, k7, k8, k9, k10, k11 and 8 more');
  });
});
