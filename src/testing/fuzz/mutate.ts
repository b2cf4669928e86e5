/**
 * Byte-level mutations of a file, drawn from a seeded stream: truncations, flipped bits, numbers overwritten with
 * the values that break parsers (0, the file's size and its neighbours, sign bits, all ones, 2^53), inserted,
 * deleted and duplicated ranges. The format-aware mutations (formats.ts) build on these.
 */
import type { Random } from '../../data/random.ts';

export type Mutation = (random: Random, bytes: Uint8Array) => Uint8Array;

export const below = (random: Random, n: number): number => Math.floor(random() * n);
export const pick = <T>(random: Random, items: readonly T[]): T => items[below(random, items.length)]!;

/** Numbers that sit on the edges parsers get wrong, for a field of a file of `size` bytes. */
export function edgeValues(size: number): bigint[] {
  const n = BigInt(size);
  return [
    0n,
    1n,
    2n,
    7n,
    8n,
    0x7fn,
    0x80n,
    0xffn,
    0x7fffn,
    0xffffn,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    2n ** 53n,
    2n ** 63n,
    2n ** 64n - 1n,
    n - 1n,
    n,
    n + 1n,
    n * 2n,
  ];
}

/** Writes `value` into `width` bytes at `at` (little- or big-endian), wrapped to the width. */
export function putInt(bytes: Uint8Array, at: number, width: number, value: bigint, littleEndian: boolean): void {
  for (let i = 0; i < width && at + i < bytes.length; i++) {
    const byte = Number((value >> BigInt(8 * i)) & 0xffn);
    bytes[littleEndian ? at + i : at + width - 1 - i] = byte;
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const truncate: Mutation = (random, bytes) => bytes.slice(0, below(random, bytes.length));

const flipBits: Mutation = (random, bytes) => {
  const out = bytes.slice();
  for (let k = 1 + below(random, 8); k > 0 && out.length; k--) out[below(random, out.length)]! ^= 1 << below(random, 8);
  return out;
};

const setBytes: Mutation = (random, bytes) => {
  const out = bytes.slice();
  for (let k = 1 + below(random, 4); k > 0 && out.length; k--) out[below(random, out.length)] = pick(random, [0, 0xff, 0x7f, 0x80, below(random, 256)]);
  return out;
};

const edgeNumber: Mutation = (random, bytes) => {
  const out = bytes.slice();
  if (out.length) putInt(out, below(random, out.length), pick(random, [1, 2, 4, 8]), pick(random, edgeValues(bytes.length)), random() < 0.8);
  return out;
};

const insertBytes: Mutation = (random, bytes) => {
  const at = below(random, bytes.length + 1);
  const inserted = Uint8Array.from({ length: 1 + below(random, 64) }, () => below(random, 256));
  return concatBytes(bytes.subarray(0, at), inserted, bytes.subarray(at));
};

const deleteRange: Mutation = (random, bytes) => {
  const at = below(random, bytes.length);
  return concatBytes(bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + 1 + below(random, 256))));
};

const duplicateRange: Mutation = (random, bytes) => {
  const from = below(random, bytes.length);
  const chunk = bytes.subarray(from, Math.min(bytes.length, from + 1 + below(random, 512)));
  const at = below(random, bytes.length + 1);
  return concatBytes(bytes.subarray(0, at), chunk, bytes.subarray(at));
};

export const BYTE_MUTATIONS: readonly Mutation[] = [truncate, flipBits, setBytes, edgeNumber, insertBytes, deleteRange, duplicateRange];

/** One to three byte mutations in a row. */
export const mutateBytes: Mutation = (random, bytes) => {
  let out = bytes;
  for (let k = 1 + below(random, 3); k > 0; k--) out = pick(random, BYTE_MUTATIONS)(random, out);
  return out;
};
