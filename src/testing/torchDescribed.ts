/**
 * Test support: compares a checkpoint tree (one we read, or one we wrote) with what torch.load saw, as recorded by
 * scripts/fixtures/checkpoints.py (`describe`): tensors bit for bit, storages shared exactly where torch shares them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TensorSource } from '../checkpoint/tensorRef.ts';
import { isTensorSource } from '../checkpoint/torchWriter.ts';

export const CHECKPOINT_FIXTURES = join(import.meta.dirname, '..', '..', 'fixtures', 'checkpoints');

export interface DescribedTensor {
  dtype: string;
  shape: number[];
  stride: number[];
  offset: number;
  /** Torch's storages numbered in order of appearance. */
  storage: number;
  /** float32 bit patterns of the values, row-major. */
  bits: number[];
}

export type Described =
  | { tensor: DescribedTensor }
  | { dict: [Described, Described][] }
  | { odict: [Described, Described][] }
  | { list: Described[] }
  | { tuple: Described[] }
  | { none: null }
  | { bool: boolean }
  | { int: number }
  | { float: number }
  | { str: string };

export function expectedFixture(file: string): Described {
  const all = JSON.parse(readFileSync(join(CHECKPOINT_FIXTURES, 'expected.json'), 'utf8')) as { files: Record<string, Described> };
  const described = all.files[file];
  if (!described) throw new Error(`expected.json has no record of ${file}: run /usr/bin/python3 scripts/fixtures/checkpoints.py`);
  return described;
}

/** The identity of a tensor's storage: its key when it was read, the source object itself when it is to be written. */
const storageOf = (t: TensorSource): unknown => ('storageKey' in t ? t.storageKey : t);

class Comparison {
  private readonly ours = new Map<unknown, number>();
  private readonly theirs = new Map<number, unknown>();

  async value(value: unknown, d: Described, path: string): Promise<void> {
    const fail = (what: string) => {
      throw new Error(`${path || 'root'}: ${what} (torch has ${JSON.stringify(d).slice(0, 120)})`);
    };
    if ('tensor' in d) {
      if (!isTensorSource(value)) return fail('not a tensor');
      return this.tensor(value, d.tensor, fail);
    }
    if ('dict' in d || 'odict' in d) {
      const items = 'dict' in d ? d.dict : d.odict;
      if (typeof value !== 'object' || value === null || Array.isArray(value) || isTensorSource(value)) return fail('not a dict');
      const entries = value instanceof Map ? [...value] : Object.entries(value);
      if (entries.length !== items.length) return fail(`${entries.length} entries, not ${items.length}`);
      for (const [i, [key, item]] of entries.entries()) {
        await this.value(key, items[i]![0], `${path} key ${i}`);
        await this.value(item, items[i]![1], path ? `${path}.${String(key)}` : String(key));
      }
      return;
    }
    if ('list' in d || 'tuple' in d) {
      const items = 'list' in d ? d.list : d.tuple;
      if (!Array.isArray(value) || value.length !== items.length) return fail('not a list of that length');
      for (const [i, item] of value.entries()) await this.value(item, items[i]!, `${path}[${i}]`);
      return;
    }
    if ('none' in d) return value === null ? undefined : fail(`${String(value)} is not None`);
    if ('bool' in d) return value === d.bool ? undefined : fail(`${String(value)} is not ${d.bool}`);
    if ('int' in d) {
      const isInt = (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';
      return isInt && Number(value) === d.int ? undefined : fail(`${String(value)} is not the int ${d.int}`);
    }
    if ('float' in d) return typeof value === 'number' && Object.is(value, d.float) ? undefined : fail(`${String(value)} is not ${d.float}`);
    return value === d.str ? undefined : fail(`${String(value)} is not ${JSON.stringify(d.str)}`);
  }

  private async tensor(t: TensorSource, d: DescribedTensor, fail: (what: string) => never): Promise<void> {
    const ref = t as Partial<{ dtype: string; stride: readonly number[]; storageOffset: number }>;
    if (t.shape.join() !== d.shape.join()) fail(`shape [${t.shape}]`);
    if ((ref.dtype ?? 'float32') !== d.dtype) fail(`dtype ${ref.dtype ?? 'float32'}`);
    if (ref.stride && (ref.stride.join() !== d.stride.join() || ref.storageOffset !== d.offset)) {
      fail(`stride [${ref.stride}] offset ${ref.storageOffset}`);
    }
    // Same storage for us exactly where torch has the same storage.
    const storage = storageOf(t);
    const mine = this.ours.get(storage) ?? d.storage;
    const theirs = this.theirs.has(d.storage) ? this.theirs.get(d.storage) : storage;
    if (mine !== d.storage || theirs !== storage) fail('storage shared differently');
    this.ours.set(storage, d.storage);
    this.theirs.set(d.storage, storage);
    const values = await t.read();
    const bits = new Int32Array(values.buffer, values.byteOffset, values.length);
    if (bits.length !== d.bits.length) fail(`${bits.length} values`);
    const at = bits.findIndex((b, i) => b !== d.bits[i]);
    if (at >= 0) fail(`value ${at} has bits ${bits[at]} (${values[at]}), torch ${d.bits[at]}`);
  }
}

/** Throws at the first place where `value` differs from torch's record of the same checkpoint. */
export function expectMatchesTorch(value: unknown, described: Described): Promise<void> {
  return new Comparison().value(value, described, '');
}
