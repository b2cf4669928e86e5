/**
 * TorchScript archives are read as data: their objects become records of attributes (no code of the archive is read,
 * none runs), and their weights are the tensors of the module tree without the non-weights OpenAI's archives keep.
 */
import { describe, expect, it } from 'vitest';
import { LazyTensor, type Storage } from './tensorRef.ts';
import { scriptModuleWeights } from './torchScript.ts';
import { ScriptObject, unpickle } from './unpickle.ts';

const storage: Storage = { key: '0', dtype: 'float32', numel: 4, where: 'test', read: async () => new Uint8Array(16) };
const tensor = () => new LazyTensor(storage, 0, [4], [1]);

function module(className: string, attributes: [string, unknown][]): ScriptObject {
  const m = new ScriptObject(className);
  m.__setstate__(new Map(attributes));
  return m;
}

/** A pickle: protocol 2, the opcodes given, STOP. */
const pickle = (body: string) => Uint8Array.from(`\x80\x02${body}.`, (c) => c.charCodeAt(0));
const GLOBAL = 'c__torch__.evil\nModule\n';
const noStorage = () => {
  throw new Error('no storage');
};

describe('TorchScript archives as data', () => {
  it("names the module tree's tensors as state_dict does, without OpenAI's sizes and the causal masks", () => {
    const block = module('__torch__.b.Block', [
      ['training', false],
      ['weight', tensor()],
      ['attn_mask', tensor()],
    ]);
    const root = module('__torch__.multimodal.model.multimodal_transformer.Multimodal', [
      ['positional_embedding', tensor()],
      ['input_resolution', tensor()],
      ['context_length', tensor()],
      ['vocab_size', tensor()],
      ['transformer', module('__torch__.b.Seq', [['0', block]])],
      ['name', 'not a tensor'],
    ]);
    expect([...scriptModuleWeights(root).keys()]).toEqual(['positional_embedding', 'transformer.0.weight']);
  });

  it('an object is only constructed and given its attributes, once; nothing else can be done with a class', () => {
    const refused: [string, RegExp][] = [
      [`${GLOBAL})R`, /ckpt\.pt: archive\/data\.pkl cannot be loaded: the pickle is malformed \(Class constructors? .*cannot be invoked without 'new'\)/],
      [`${GLOBAL})\x81}b}b`, /the TorchScript object __torch__\.evil\.Module is given its attributes twice/],
      [`${GLOBAL})\x81`, /the TorchScript object __torch__\.evil\.Module was never given its attributes/],
      [`${GLOBAL})\x81}K\x01K\x02sb`, /is given attributes that are not a dict named by strings/],
      [`${GLOBAL}K\x01\x85\x81`, /is constructed with arguments/],
    ];
    for (const [body, message] of refused) expect(() => unpickle(pickle(body), 'ckpt.pt', 'archive/data.pkl', noStorage)).toThrow(message);
    const ok = unpickle(pickle(`${GLOBAL})\x81}X\x01\x00\x00\x00aK\x01sb`), 'ckpt.pt', 'archive/data.pkl', noStorage);
    expect(ok).toBeInstanceOf(ScriptObject);
    expect((ok as ScriptObject).attributes).toEqual(new Map([['a', 1]]));
  });
});
