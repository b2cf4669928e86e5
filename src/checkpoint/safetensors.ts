/**
 * safetensors: an 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}} (plus an
 * optional "__metadata__" of strings), then the tensors' bytes, contiguous, row-major. Read lazily, written streaming.
 */
import { FileError } from '../fileError.ts';
import type { ByteSink } from './byteSink.ts';
import type { ByteSource } from './byteSource.ts';
import { ITEM_SIZE, type DType, fromFloat32, type WritableDType } from './dtypes.ts';
import { LazyTensor, contiguousStride, float32Bytes, isShape, product, type TensorRef, type TensorSource } from './tensorRef.ts';

const DTYPES: Record<string, DType> = {
  F64: 'float64',
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};
const DTYPE_CODES: Record<WritableDType, string> = { float32: 'F32', float16: 'F16' };

/** A header past this is not a real file's (the format's own reference implementation caps it at 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

export interface SafetensorsFile {
  tensors: Map<string, TensorRef>;
  metadata: Record<string, string>;
}

/** The first bytes of a file: a plausible header length followed by the header's opening brace. */
export function looksLikeSafetensors(head: Uint8Array, fileSize: number): boolean {
  if (head.length < 9) return false;
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  return n > 1n && n <= BigInt(Math.min(fileSize - 8, MAX_HEADER_BYTES)) && head[8] === '{'.charCodeAt(0);
}

export async function readSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const file = source.name;
  if (source.size < 8) throw new FileError(file, `${file} is truncated: ${source.size} bytes, shorter than a safetensors header length`);
  const first = await source.read(0, 8);
  const length = new DataView(first.buffer, first.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(Math.min(source.size - 8, MAX_HEADER_BYTES))) {
    throw new FileError(file, `${file} is not a safetensors file or is truncated: its header would be ${length} bytes, the file has ${source.size}`);
  }
  const headerLength = Number(length);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLength)));
  } catch (error) {
    throw new FileError(file, `${file}: the safetensors header is not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new FileError(file, `${file}: the safetensors header is not a JSON object`);
  const dataStart = 8 + headerLength;
  const dataSize = source.size - dataStart;
  const tensors = new Map<string, TensorRef>();
  const ranges: { name: string; begin: number; end: number }[] = [];
  let metadata: Record<string, string> = {};
  for (const [name, info] of Object.entries(header)) {
    if (name === METADATA_KEY) {
      if (typeof info !== 'object' || info === null || Object.values(info).some((v) => typeof v !== 'string')) {
        throw new FileError(file, `${file}: the safetensors ${METADATA_KEY} is not a map of strings`);
      }
      metadata = info as Record<string, string>;
      continue;
    }
    const where = `${file}: tensor ${name}`;
    const { dtype: code, shape, data_offsets: offsets } = (info ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = typeof code === 'string' ? DTYPES[code] : undefined;
    if (!dtype) throw new FileError(file, `${where} has dtype ${JSON.stringify(code)}; readable are ${Object.keys(DTYPES).join(', ')}`);
    if (!isShape(shape)) throw new FileError(file, `${where} has a malformed shape ${JSON.stringify(shape)}`);
    if (!isShape(offsets) || offsets.length !== 2 || offsets[0]! > offsets[1]!) {
      throw new FileError(file, `${where} has malformed data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const numel = product(shape);
    if (end - begin !== numel * ITEM_SIZE[dtype]) {
      throw new FileError(file, `${where} spans ${end - begin} bytes but its shape [${shape.join(', ')}] of ${dtype} needs ${numel * ITEM_SIZE[dtype]}`);
    }
    if (end > dataSize) throw new FileError(file, `${file} is truncated: tensor ${name} ends at data byte ${end}, the data section has ${dataSize}`);
    const storage = { key: name, dtype, numel, where, read: (at: number, n: number) => source.read(dataStart + begin + at, n) };
    tensors.set(name, new LazyTensor(storage, 0, shape, contiguousStride(shape)));
    ranges.push({ name, begin, end });
  }
  refuseOverlaps(file, ranges);
  return { tensors, metadata };
}

/** Each tensor owns its bytes (the format's rule, which its reference reader enforces): two that share any are refused. */
function refuseOverlaps(file: string, ranges: { name: string; begin: number; end: number }[]): void {
  const sorted = ranges.filter((r) => r.end > r.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const [a, b] = [sorted[i - 1]!, sorted[i]!];
    if (b.begin < a.end) {
      throw new FileError(
        file,
        `${file} is damaged: tensors ${a.name} (data bytes ${a.begin}..${a.end}) and ${b.name} (data bytes ${b.begin}..${b.end}) overlap, ` +
          'while each tensor of a safetensors file has bytes of its own',
      );
    }
  }
}

/**
 * Writes the tensors (read as float32) as `dtype`, float32 by default, in the map's order: the header first (it
 * needs only shapes), then each tensor's bytes.
 */
export async function writeSafetensors(
  tensors: ReadonlyMap<string, TensorSource>,
  sink: ByteSink,
  { metadata, dtype = 'float32' }: { metadata?: Record<string, string>; dtype?: WritableDType } = {},
): Promise<void> {
  const header: Record<string, unknown> = metadata ? { [METADATA_KEY]: metadata } : {};
  let offset = 0;
  for (const [name, t] of tensors) {
    if (name === METADATA_KEY) throw new Error(`a tensor cannot be called ${METADATA_KEY}`);
    if (!isShape(t.shape)) throw new Error(`cannot write tensor ${name}: its shape ${JSON.stringify(t.shape)} is not a list of sizes`);
    const bytes = product(t.shape) * ITEM_SIZE[dtype];
    header[name] = { dtype: DTYPE_CODES[dtype], shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  // Pad with spaces so that the data starts 8-byte aligned, as the format recommends.
  const padded = Math.ceil(json.length / 8) * 8;
  const head = new Uint8Array(8 + padded).fill(0x20);
  new DataView(head.buffer).setBigUint64(0, BigInt(padded), true);
  head.set(json, 8);
  await sink.write(head);
  for (const [name, t] of tensors) {
    const bytes = await float32Bytes(t, name);
    await sink.write(dtype === 'float32' ? bytes : fromFloat32(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4), dtype));
  }
  await sink.close();
}
