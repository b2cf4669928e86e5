/**
 * Pickle-aware mutations of a `.pt` archive's data.pkl, repacked into a valid archive (fresh CRCs, the seed's
 * storages kept) so that the pickle reader itself is reached: the pickle's numbers set to edge values, its strings
 * swapped for one another (duplicate names, storages shared across dtypes), its bytes mutated, or whole hostile
 * pickles: tensors with edge sizes, strides, offsets and numels, containers nested twenty thousand deep,
 * containers that hold themselves through the memo, memo reads of what was never stored, lengths and counts far
 * past the file, globals that are not allowed, BUILDs on what must not change.
 */
import { memorySink } from '../../checkpoint/byteSink.ts';
import { bytesSource } from '../bytesSource.ts';
import { ZipReader } from '../../checkpoint/zipReader.ts';
import { ZipWriter } from '../../checkpoint/zipWriter.ts';
import type { Random } from '../../data/random.ts';
import { below, concatBytes, edgeValues, mutateBytes, pick, putInt } from './mutate.ts';

/** A stored archive taken apart: its entries in order, the pickle's name among them. */
export interface Archive {
  entries: [string, Uint8Array][];
  pickle: string;
  /** The storage keys its data/ entries hold. */
  storages: string[];
}

export async function unpackArchive(bytes: Uint8Array): Promise<Archive> {
  const zip = await ZipReader.open(bytesSource(bytes, 'seed'));
  const entries: [string, Uint8Array][] = [];
  // A TorchScript archive deflates its code/, which the reader never opens: the repacked archive leaves it out.
  for (const entry of zip.entries.values()) if (entry.method === 0) entries.push([entry.name, await zip.readAll(entry)]);
  const pickle = entries.find(([name]) => /^[^/]+\/data\.pkl$/.test(name))![0];
  const storages = entries.flatMap(([name]) => (/^[^/]+\/data\/[^/]+$/.test(name) ? [name.slice(name.lastIndexOf('/') + 1)] : []));
  return { entries, pickle, storages };
}

export async function packArchive({ entries, pickle }: Archive, data: Uint8Array): Promise<Uint8Array> {
  const sink = memorySink();
  const writer = new ZipWriter(sink);
  for (const [name, bytes] of entries) await writer.add(name, name === pickle ? data : bytes);
  await writer.finish();
  return sink.bytes();
}

// ---- A raw pickle assembler: the hostile shapes need opcodes no writer of ours would emit ----

const utf8 = new TextEncoder();
type Part = number | readonly number[] | Uint8Array;
const asm = (...parts: Part[]): Uint8Array => concatBytes(...parts.map((p) => (typeof p === 'number' ? Uint8Array.of(p) : Uint8Array.from(p))));
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const str = (s: string) => {
  const b = utf8.encode(s);
  return asm(0x58, u32le(b.length), b);
};
/** An int of any size as LONG1 (Python's encoding: two's complement, little-endian). */
function int(value: bigint): Uint8Array {
  const bytes: number[] = [];
  let v = value;
  for (;;) {
    const byte = Number(v & 0xffn);
    bytes.push(byte);
    v >>= 8n;
    if ((v === 0n && !(byte & 0x80)) || (v === -1n && byte & 0x80)) break;
  }
  return asm(0x8a, bytes.length, bytes);
}
const global = (module: string, name: string) => asm(0x63, utf8.encode(`${module}\n${name}\n`));
const MARK = 0x28;
const TUPLE = 0x74;
const EMPTY_TUPLE = 0x29;
const EMPTY_LIST = 0x5d;
const EMPTY_DICT = 0x7d;
const APPEND = 0x61;
const APPENDS = 0x65;
const SETITEM = 0x73;
const SETITEMS = 0x75;
const REDUCE = 0x52;
const BUILD = 0x62;
const BINPERSID = 0x51;
const STOP = 0x2e;
const PROTO2 = [0x80, 2];
const binput = (i: number) => asm(0x72, u32le(i));
const binget = (i: number) => asm(0x6a, u32le(i));
const orderedDict = () => asm(global('collections', 'OrderedDict'), EMPTY_TUPLE, REDUCE);

interface Layout {
  key: string;
  storageType: string;
  numel: bigint;
  offset: bigint;
  size: bigint[];
  stride: bigint[];
}

function tensor({ key, storageType, numel, offset, size, stride }: Layout): Uint8Array {
  const ints = (values: bigint[]) => asm(MARK, ...values.map(int), TUPLE);
  const storage = asm(MARK, str('storage'), global('torch', storageType), str(key), str('cpu'), int(numel), TUPLE, BINPERSID);
  return asm(global('torch._utils', '_rebuild_tensor_v2'), MARK, storage, int(offset), ints(size), ints(stride), 0x89, orderedDict(), TUPLE, REDUCE);
}

const stateDict = (items: [string, Uint8Array][]) => asm(PROTO2, orderedDict(), MARK, ...items.flatMap(([k, v]) => [str(k), v]), SETITEMS, STOP);

/** A number for a tensor's layout: usually sane, sometimes an edge value, negative or past 2^53. */
function layoutNumber(random: Random, sane: number): bigint {
  const r = random();
  if (r < 0.6) return BigInt(sane);
  if (r < 0.8) return pick(random, edgeValues(sane));
  return r < 0.9 ? -BigInt(below(random, 4) + 1) : 2n ** BigInt(31 + below(random, 40));
}

const STORAGE_TYPES = ['FloatStorage', 'HalfStorage', 'DoubleStorage', 'LongStorage', 'BoolStorage', 'ByteStorage', 'BFloat16Storage'];

function randomTensor(random: Random, archive: Archive): Uint8Array {
  const key = random() < 0.9 && archive.storages.length ? pick(random, archive.storages) : String(below(random, 1000));
  const dims = below(random, 4);
  const size = Array.from({ length: dims }, () => layoutNumber(random, 1 + below(random, 8)));
  const stride = size.map((_, d) => layoutNumber(random, 2 ** (dims - 1 - d)));
  return tensor({ key, storageType: pick(random, STORAGE_TYPES), numel: layoutNumber(random, 16), offset: layoutNumber(random, 0), size, stride });
}

/** Whole hostile pickles over the archive's storages. */
const HOSTILE: readonly ((random: Random, archive: Archive) => Uint8Array)[] = [
  // Tensors with edge layouts, some sharing a storage under two dtypes.
  (random, archive) => stateDict(Array.from({ length: 1 + below(random, 6) }, (_, i) => [`t${i}`, randomTensor(random, archive)])),
  // Nesting far deeper than any checkpoint: lists, dicts or tuples.
  (random) => {
    const depth = 1 + below(random, 20_000);
    const kind = below(random, 3);
    const open = kind === 0 ? [EMPTY_LIST] : kind === 1 ? [EMPTY_DICT] : [MARK];
    const close = kind === 0 ? [APPEND] : kind === 1 ? [] : [TUPLE];
    const body: number[] = [...PROTO2];
    for (let i = 0; i < depth; i++) body.push(...open, ...(kind === 1 ? [...str('k')] : []));
    body.push(0x4e); // None at the bottom
    for (let i = 0; i < depth; i++) body.push(...(kind === 1 ? [SETITEM] : close));
    body.push(STOP);
    return Uint8Array.from(body);
  },
  // Containers that hold themselves through the memo.
  (random) =>
    pick(random, [
      asm(PROTO2, EMPTY_LIST, binput(0), binget(0), APPEND, STOP),
      asm(PROTO2, EMPTY_DICT, binput(0), str('self'), binget(0), SETITEM, STOP),
      asm(PROTO2, orderedDict(), binput(7), MARK, str('a'), binget(7), str('b'), binget(7), SETITEMS, STOP),
      asm(PROTO2, EMPTY_LIST, binput(0), MARK, EMPTY_LIST, binput(1), binget(0), APPEND, binget(1), APPENDS, STOP),
    ]),
  // Memo reads of what was never stored.
  (random) => asm(PROTO2, EMPTY_LIST, binget(random() < 0.5 ? 0xffffffff : below(random, 10)), APPEND, STOP),
  // Lengths and counts far past the file.
  (random) =>
    pick(random, [
      asm(PROTO2, 0x58, u32le(0xffffffff), 0x61, STOP),
      asm(PROTO2, 0x8e, [0, 0, 0, 0, 0, 0, 0, 0x10], STOP),
      asm(PROTO2, 0x8b, u32le(0x7fffffff), STOP),
      asm(PROTO2, 0x95, [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f], EMPTY_DICT, STOP),
      asm(PROTO2, EMPTY_LIST, MARK, new Uint8Array(1 + below(random, 50_000)).fill(0x4e), APPENDS, STOP),
    ]),
  // Names the allowlist refuses, and allowed ones called the wrong way.
  (random) =>
    pick(random, [
      asm(PROTO2, global('os', 'system'), MARK, str('echo hi'), TUPLE, REDUCE, STOP),
      asm(PROTO2, global('builtins', 'eval'), MARK, str('1'), TUPLE, REDUCE, STOP),
      asm(PROTO2, global('torch._utils', '_rebuild_tensor_v2'), EMPTY_TUPLE, REDUCE, STOP),
      asm(PROTO2, global('torch._utils', '_rebuild_parameter'), MARK, int(3n), TUPLE, REDUCE, STOP),
      asm(PROTO2, global('collections', 'OrderedDict'), MARK, int(1n), TUPLE, REDUCE, STOP),
      asm(PROTO2, global('torch', 'FloatStorage'), STOP),
      asm(PROTO2, global('__torch__.m', 'M'), MARK, int(1n), TUPLE, 0x81, STOP),
      asm(PROTO2, global('__torch__.m', 'M'), EMPTY_TUPLE, 0x81, EMPTY_DICT, BUILD, EMPTY_DICT, BUILD, STOP),
      asm(PROTO2, MARK, str('storage'), global('torch', 'FloatStorage'), str('0'), str('cpu'), int(-1n), TUPLE, BINPERSID, STOP),
    ]),
  // BUILD on what must not change: a tensor, an OrderedDict.
  (random, archive) =>
    asm(PROTO2, orderedDict(), MARK, str('w'), randomTensor(random, archive), SETITEMS, EMPTY_DICT, str('shape'), str('x'), SETITEM, BUILD, STOP),
  // The same name twice, with and without DDP's prefix.
  (random, archive) => {
    const t = randomTensor(random, archive);
    return stateDict(
      random() < 0.5
        ? [
            ['w', t],
            ['w', t],
          ]
        : [
            ['module.w', t],
            ['w', t],
          ],
    );
  },
];

/** The offsets of a pickle's 1-, 2- and 4-byte integer operands and of its BINUNICODE strings. */
function operands(pickle: Uint8Array): { ints: [number, number][]; strings: number[] } {
  const ints: [number, number][] = [];
  const strings: number[] = [];
  for (let at = 0; at < pickle.length; at++) {
    const op = pickle[at];
    if (op === 0x4b)
      ints.push([at + 1, 1]); // BININT1
    else if (op === 0x4d)
      ints.push([at + 1, 2]); // BININT2
    else if (op === 0x4a)
      ints.push([at + 1, 4]); // BININT
    else if (op === 0x58) strings.push(at); // BINUNICODE
  }
  return { ints, strings };
}

/** The pickle's numbers set to edge values, or one of its strings replaced by another of them. */
function editOperands(random: Random, pickle: Uint8Array): Uint8Array {
  const { ints, strings } = operands(pickle);
  if (random() < 0.6 && ints.length) {
    const out = pickle.slice();
    for (let k = 1 + below(random, 3); k > 0; k--) {
      const [at, width] = pick(random, ints);
      putInt(out, at, width, pick(random, edgeValues(out.length)), true);
    }
    return out;
  }
  if (strings.length < 2) return mutateBytes(random, pickle);
  const length = (at: number) => new DataView(pickle.buffer, pickle.byteOffset + at + 1, 4).getUint32(0, true);
  const [a, b] = [pick(random, strings), pick(random, strings)];
  if (a + 5 + length(a) > pickle.length || b + 5 + length(b) > pickle.length) return mutateBytes(random, pickle);
  return concatBytes(pickle.subarray(0, a), pickle.subarray(b, b + 5 + length(b)), pickle.subarray(a + 5 + length(a)));
}

/** A new data.pkl for the archive: the seed's mutated, or a hostile one. */
export function mutatePickle(random: Random, archive: Archive, pickle: Uint8Array): Uint8Array {
  const r = random();
  if (r < 0.4) return editOperands(random, pickle);
  if (r < 0.7) return mutateBytes(random, pickle);
  return pick(random, HOSTILE)(random, archive);
}
