/**
 * safetensors-aware mutations: the header's JSON edited (offsets that overlap, run past the data or backwards,
 * shapes with edge, negative and fractional sizes, unknown dtypes, a name given twice, metadata that is not
 * strings, nesting twenty thousand deep, three thousand tensors) and written back with a length field that
 * is usually right; or the length field and the bytes mutated.
 */
import type { Random } from '../../data/random.ts';
import { type Mutation, below, concatBytes, edgeValues, mutateBytes, pick } from './mutate.ts';

type Info = { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
type Header = Record<string, unknown>;

const utf8 = new TextEncoder();

function parse(bytes: Uint8Array): { header: Header; data: Uint8Array } | null {
  if (bytes.length < 8) return null;
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  try {
    return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length))) as Header, data: bytes.subarray(8 + length) };
  } catch {
    return null;
  }
}

function withHeader(random: Random, json: string, data: Uint8Array, oldLength: number): Uint8Array {
  const text = utf8.encode(json);
  const head = new Uint8Array(8);
  const length = random() < 0.9 ? text.length : pick(random, [oldLength, text.length - 1, text.length + 1, 0]);
  new DataView(head.buffer).setBigUint64(0, BigInt(Math.max(0, length)), true);
  return concatBytes(head, text, data);
}

const edge = (random: Random, size: number): unknown => pick(random, [Number(pick(random, edgeValues(size))), -1, 0.5, 2 ** 60, '8', null, [1]]);

/** Edits to one tensor's entry. */
const TENSOR_EDITS: readonly ((random: Random, info: Info, header: Header, dataSize: number) => void)[] = [
  (random, info, header) => {
    // Overlap: start inside another tensor's bytes.
    const others = Object.values(header).filter((v): v is Info => typeof v === 'object' && v !== null && Array.isArray((v as Info).data_offsets));
    const [begin, end] = (pick(random, others).data_offsets as number[]) ?? [0, 0];
    const [b, e] = info.data_offsets as number[];
    const at = begin! + below(random, Math.max(1, end! - begin!));
    info.data_offsets = [at, at + (e! - b!)];
  },
  (random, info, _header, dataSize) => {
    const [b, e] = info.data_offsets as number[];
    info.data_offsets = pick(random, [
      [e, b],
      [b! + dataSize, e! + dataSize],
      [b, dataSize + 1 + below(random, 64)],
      [edge(random, dataSize), e],
      [b, edge(random, dataSize)],
    ]);
  },
  (random, info, _header, dataSize) => {
    const shape = Array.isArray(info.shape) ? [...info.shape] : [];
    if (shape.length && random() < 0.7) shape[below(random, shape.length)] = edge(random, dataSize);
    else shape.push(edge(random, dataSize));
    info.shape = random() < 0.1 ? 'shape' : shape;
  },
  (random, info) => {
    info.dtype = pick(random, ['F32', 'F16', 'BF16', 'F64', 'I64', 'BOOL', 'U8', 'f32', 'F8_E4M3', 'C64', '', 7, null]);
  },
];

const HEADER_EDITS: readonly ((random: Random, header: Header, dataSize: number) => string)[] = [
  (random, header, dataSize) => {
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = pick(random, names);
    const info = { ...(header[name] as Info) };
    pick(random, TENSOR_EDITS)(random, info, header, dataSize);
    return JSON.stringify({ ...header, [name]: info });
  },
  // A name given twice: JSON.parse keeps the last, a reader that looks at the text may not.
  (random, header) => {
    const names = Object.keys(header).filter((k) => k !== '__metadata__');
    const name = pick(random, names);
    const body = JSON.stringify(header);
    return `${body.slice(0, -1)},${JSON.stringify(name)}:${JSON.stringify(header[pick(random, names)])}}`;
  },
  (random, header) => JSON.stringify({ ...header, __metadata__: pick(random, [{ format: 1 }, 'pt', [], { a: { b: 'c' } }, null]) }),
  (random, header) => {
    const depth = 1 + below(random, 20_000);
    return `${JSON.stringify(header).slice(0, -1)},"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  },
  (random, header) => {
    const extra: Header = {};
    for (let i = below(random, 3_000); i > 0; i--) extra[`z${i}`] = { dtype: 'F32', shape: [0], data_offsets: [0, 0] };
    return JSON.stringify({ ...header, ...extra });
  },
  (random) => pick(random, ['[]', '"text"', 'null', '{', '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', '\u0000']),
];

export const mutateSafetensors: Mutation = (random, bytes) => {
  const parsed = random() < 0.75 ? parse(bytes) : null;
  if (!parsed || Object.keys(parsed.header).length < 2) return mutateBytes(random, bytes);
  const oldLength = bytes.length - 8 - parsed.data.length;
  return withHeader(random, pick(random, HEADER_EDITS)(random, parsed.header, parsed.data.length), parsed.data, oldLength);
};
