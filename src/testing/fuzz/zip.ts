/**
 * Zip-aware mutations: a number of an end record, a central or a local header set to an edge value (counts,
 * sizes, offsets, name and extra lengths, methods, flags, CRCs, the ZIP64 records'), a central-directory entry
 * listed twice (duplicate names), an entry renamed to another's name. The records are found by their signatures,
 * so a file damaged by earlier mutations still has fields to aim at.
 */
import type { Random } from '../../data/random.ts';
import { CENTRAL_HEADER_SIG, CENTRAL_HEADER_SIZE, END_SIG, LOCAL_HEADER_SIG, ZIP64_END_SIG, ZIP64_LOCATOR_SIG } from '../../checkpoint/zipFormat.ts';
import { type Mutation, below, concatBytes, edgeValues, mutateBytes, pick, putInt } from './mutate.ts';

/** Offset and width of each number in a record, by record signature. */
const FIELDS: Record<number, [number, number][]> = {
  [CENTRAL_HEADER_SIG]: [
    [8, 2],
    [10, 2],
    [16, 4],
    [20, 4],
    [24, 4],
    [28, 2],
    [30, 2],
    [32, 2],
    [42, 4],
    [46, 8],
    [54, 8],
  ],
  [LOCAL_HEADER_SIG]: [
    [6, 2],
    [8, 2],
    [14, 4],
    [18, 4],
    [22, 4],
    [26, 2],
    [28, 2],
  ],
  [END_SIG]: [
    [8, 2],
    [10, 2],
    [12, 4],
    [16, 4],
    [20, 2],
  ],
  [ZIP64_END_SIG]: [
    [4, 8],
    [24, 8],
    [32, 8],
    [40, 8],
    [48, 8],
  ],
  [ZIP64_LOCATOR_SIG]: [
    [8, 8],
    [16, 4],
  ],
};

const u32 = (bytes: Uint8Array, at: number) => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0;
const u16 = (bytes: Uint8Array, at: number) => bytes[at]! | (bytes[at + 1]! << 8);

/** Where each record starts, by signature. */
function records(bytes: Uint8Array): { at: number; sig: number }[] {
  const found: { at: number; sig: number }[] = [];
  for (let at = 0; at + 4 <= bytes.length; at++) {
    if (bytes[at] !== 0x50 || bytes[at + 1] !== 0x4b) continue;
    const sig = u32(bytes, at);
    if (FIELDS[sig]) found.push({ at, sig });
  }
  return found;
}

const editField: Mutation = (random, bytes) => {
  const found = records(bytes);
  if (!found.length) return mutateBytes(random, bytes);
  const { at, sig } = pick(random, found);
  const [offset, width] = pick(random, FIELDS[sig]!);
  const out = bytes.slice();
  putInt(out, at + offset, width, pick(random, edgeValues(bytes.length)), true);
  return out;
};

/** Lists one central-directory entry twice, and counts it in the end records so that readers believe it. */
const duplicateEntry: Mutation = (random, bytes) => {
  const central = records(bytes).filter((r) => r.sig === CENTRAL_HEADER_SIG && r.at + CENTRAL_HEADER_SIZE <= bytes.length);
  if (!central.length) return editField(random, bytes);
  const { at } = pick(random, central);
  const length = CENTRAL_HEADER_SIZE + u16(bytes, at + 28) + u16(bytes, at + 30) + u16(bytes, at + 32);
  const copy = bytes.slice(at, at + length);
  const out = concatBytes(bytes.subarray(0, at + length), copy, bytes.subarray(at + length));
  // Only records that the earlier mutations left whole (their last field inside the file) are updated.
  const whole = (r: { at: number }, end: number) => r.at + end <= out.length;
  for (const r of records(out)) {
    if (r.at <= at + length) continue;
    if (r.sig === END_SIG && whole(r, 16)) {
      for (const count of [8, 10]) if (u16(out, r.at + count) !== 0xffff) putInt(out, r.at + count, 2, BigInt(u16(out, r.at + count) + 1), true);
      if (u32(out, r.at + 12) !== 0xffffffff) putInt(out, r.at + 12, 4, BigInt(u32(out, r.at + 12) + copy.length), true);
    } else if (r.sig === ZIP64_END_SIG && whole(r, 48)) {
      const view = new DataView(out.buffer, out.byteOffset);
      for (const count of [24, 32]) view.setBigUint64(r.at + count, view.getBigUint64(r.at + count, true) + 1n, true);
      view.setBigUint64(r.at + 40, view.getBigUint64(r.at + 40, true) + BigInt(copy.length), true);
    } else if (r.sig === ZIP64_LOCATOR_SIG && whole(r, 16)) {
      const view = new DataView(out.buffer, out.byteOffset);
      view.setBigUint64(r.at + 8, view.getBigUint64(r.at + 8, true) + BigInt(copy.length), true);
    }
  }
  return out;
};

/** Gives one entry the name of another of the same length (a duplicate name the end records agree with). */
const renameEntry: Mutation = (random, bytes) => {
  const central = records(bytes).filter((r) => r.sig === CENTRAL_HEADER_SIG && r.at + CENTRAL_HEADER_SIZE <= bytes.length);
  if (central.length < 2) return duplicateEntry(random, bytes);
  const a = pick(random, central).at;
  const sameLength = central.filter((r) => r.at !== a && u16(bytes, r.at + 28) === u16(bytes, a + 28));
  if (!sameLength.length) return duplicateEntry(random, bytes);
  const b = pick(random, sameLength).at;
  const out = bytes.slice();
  // A damaged file's names may run past its end: as much of the name as both have room for.
  const length = Math.min(u16(bytes, b + 28), bytes.length - a - CENTRAL_HEADER_SIZE, bytes.length - b - CENTRAL_HEADER_SIZE);
  out.set(bytes.subarray(b + CENTRAL_HEADER_SIZE, b + CENTRAL_HEADER_SIZE + Math.max(0, length)), a + CENTRAL_HEADER_SIZE);
  return out;
};

const ZIP_MUTATIONS: readonly Mutation[] = [editField, editField, duplicateEntry, renameEntry, mutateBytes];

/** One or two zip-aware mutations, or byte mutations. */
export const mutateZip: Mutation = (random: Random, bytes) => {
  let out = bytes;
  for (let k = 1 + below(random, 2); k > 0; k--) out = pick(random, ZIP_MUTATIONS)(random, out);
  return out;
};
