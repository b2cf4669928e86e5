/**
 * Reads a zip archive over random-access slices, loading only its central directory, and serves byte ranges of
 * stored entries. Our own reader rather than @zip.js/zip.js: zip.js parses the central directory over a custom
 * Reader, but it only hands out an entry as one whole (CRC-checked) stream, while a tensor needs an arbitrary byte
 * range inside one entry (a view at an offset of a shared storage); we would parse local headers ourselves anyway,
 * and the rest is the end records and the central directory, small and fully specified.
 *
 * Sizes and offsets come from the central directory (ZIP64 records included): local headers may carry zero sizes
 * and data descriptors, so they are read only to find where an entry's data starts.
 */
import { FileError } from '../fileError.ts';
import type { ByteSource } from './byteSource.ts';
import {
  CENTRAL_HEADER_SIG,
  CENTRAL_HEADER_SIZE,
  END_SIG,
  END_SIZE,
  FLAG_ENCRYPTED,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  MAX_COMMENT,
  METHOD_STORED,
  U16_MARKER,
  U32_MARKER,
  ZIP64_END_SIG,
  ZIP64_END_SIZE,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR_SIG,
  ZIP64_LOCATOR_SIZE,
  getU64,
} from './zipFormat.ts';

export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localHeaderOffset: number;
}

interface Directory {
  count: number;
  offset: number;
  size: number;
  /** Where the end records begin: the central directory must end before. */
  end: number;
}

/** Runs a field parser that knows no file name; its complaint becomes a sentence about `part` of `file`. */
function named<T>(file: string, part: string, parse: () => T): T {
  try {
    return parse();
  } catch (error) {
    throw new FileError(file, `${file}: ${part}: ${(error as Error).message}`, { cause: error });
  }
}

const view = (bytes: Uint8Array) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const utf8 = new TextDecoder('utf-8');

async function findDirectory(source: ByteSource): Promise<Directory> {
  const name = source.name;
  const tailLength = Math.min(source.size, END_SIZE + MAX_COMMENT);
  const tail = await source.read(source.size - tailLength, tailLength);
  const tv = view(tail);
  let at = -1;
  for (let i = tail.length - END_SIZE; i >= 0; i--) {
    if (tv.getUint32(i, true) === END_SIG && i + END_SIZE + tv.getUint16(i + 20, true) <= tail.length) {
      at = i;
      break;
    }
  }
  if (at < 0) {
    const head = source.size >= 4 ? view(await source.read(0, 4)).getUint32(0, true) : 0;
    throw new FileError(
      name,
      head === LOCAL_HEADER_SIG
        ? `${name} is truncated: it starts like a zip archive but has no end-of-central-directory record (${source.size} bytes)`
        : `${name} is not a zip archive (no end-of-central-directory record), so not a PyTorch .pt checkpoint`,
    );
  }
  const endAt = source.size - tailLength + at;
  const dir: Directory = {
    count: tv.getUint16(at + 10, true),
    size: tv.getUint32(at + 12, true),
    offset: tv.getUint32(at + 16, true),
    end: endAt,
  };
  const locatorAt = endAt - ZIP64_LOCATOR_SIZE;
  const locator = locatorAt >= 0 ? view(await source.read(locatorAt, ZIP64_LOCATOR_SIZE)) : null;
  if (locator && locator.getUint32(0, true) === ZIP64_LOCATOR_SIG) {
    const u64 = (record: DataView, at: number) => named(name, 'the ZIP64 end records', () => getU64(record, at));
    const zip64At = u64(locator, 8);
    if (zip64At + ZIP64_END_SIZE > locatorAt) throw new FileError(name, `${name}: the ZIP64 locator points past the end records (byte ${zip64At})`);
    const z = view(await source.read(zip64At, ZIP64_END_SIZE));
    if (z.getUint32(0, true) !== ZIP64_END_SIG) throw new FileError(name, `${name}: no ZIP64 end-of-central-directory record at byte ${zip64At}`);
    return { count: u64(z, 32), size: u64(z, 40), offset: u64(z, 48), end: zip64At };
  }
  if (dir.count === U16_MARKER || dir.size === U32_MARKER || dir.offset === U32_MARKER) {
    throw new FileError(name, `${name}: the end-of-central-directory record defers to ZIP64 records that are missing`);
  }
  return dir;
}

/** The ZIP64 extra field lists, in this order, only the values whose 32-bit field holds the marker. */
function applyZip64(extra: DataView, fields: { size: number; compressedSize: number; localHeaderOffset: number }): void {
  for (let at = 0; at + 4 <= extra.byteLength; ) {
    const id = extra.getUint16(at, true);
    const length = extra.getUint16(at + 2, true);
    if (id === ZIP64_EXTRA_ID) {
      let p = at + 4;
      const next = () => {
        if (p + 8 > at + 4 + length) throw new Error('a ZIP64 extra field is shorter than the values it must hold');
        const v = getU64(extra, p);
        p += 8;
        return v;
      };
      if (fields.size === U32_MARKER) fields.size = next();
      if (fields.compressedSize === U32_MARKER) fields.compressedSize = next();
      if (fields.localHeaderOffset === U32_MARKER) fields.localHeaderOffset = next();
      return;
    }
    at += 4 + length;
  }
}

function parseDirectory(name: string, bytes: Uint8Array, count: number): Map<string, ZipEntry> {
  const v = view(bytes);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + CENTRAL_HEADER_SIZE > bytes.length || v.getUint32(at, true) !== CENTRAL_HEADER_SIG) {
      throw new FileError(name, `${name}: the central directory is damaged (entry ${i} of ${count} has no central-header signature)`);
    }
    const nameLength = v.getUint16(at + 28, true);
    const extraLength = v.getUint16(at + 30, true);
    const commentLength = v.getUint16(at + 32, true);
    const next = at + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (next > bytes.length) throw new FileError(name, `${name}: the central directory is damaged (entry ${i} runs past its end)`);
    const entryName = utf8.decode(bytes.subarray(at + CENTRAL_HEADER_SIZE, at + CENTRAL_HEADER_SIZE + nameLength));
    const fields = {
      compressedSize: v.getUint32(at + 20, true),
      size: v.getUint32(at + 24, true),
      localHeaderOffset: v.getUint32(at + 42, true),
    };
    named(name, `entry ${entryName}`, () =>
      applyZip64(new DataView(bytes.buffer, bytes.byteOffset + at + CENTRAL_HEADER_SIZE + nameLength, extraLength), fields),
    );
    if (entries.has(entryName)) throw new FileError(name, `${name}: the zip lists entry ${entryName} twice`);
    entries.set(entryName, {
      name: entryName,
      flags: v.getUint16(at + 8, true),
      method: v.getUint16(at + 10, true),
      crc32: v.getUint32(at + 16, true),
      ...fields,
    });
    at = next;
  }
  return entries;
}

export class ZipReader {
  private readonly dataStarts = new Map<ZipEntry, Promise<number>>();

  private constructor(
    readonly source: ByteSource,
    readonly entries: ReadonlyMap<string, ZipEntry>,
  ) {}

  static async open(source: ByteSource): Promise<ZipReader> {
    const dir = await findDirectory(source);
    if (dir.offset + dir.size > dir.end) {
      throw new FileError(
        source.name,
        `${source.name} is damaged or truncated: its central directory (bytes ${dir.offset}..${dir.offset + dir.size}) overlaps the end records at byte ${dir.end}`,
      );
    }
    return new ZipReader(source, parseDirectory(source.name, await source.read(dir.offset, dir.size), dir.count));
  }

  /** Bytes `offset .. offset + length` of an entry's data; the entry must be stored (uncompressed). */
  async read(entry: ZipEntry, offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > entry.size) {
      throw new FileError(this.source.name, `${this.source.name}: ${entry.name} holds ${entry.size} bytes, cannot read bytes ${offset}..${offset + length}`);
    }
    return this.source.read((await this.dataStart(entry)) + offset, length);
  }

  readAll(entry: ZipEntry): Promise<Uint8Array> {
    return this.read(entry, 0, entry.size);
  }

  private dataStart(entry: ZipEntry): Promise<number> {
    let start = this.dataStarts.get(entry);
    if (!start) {
      start = this.locateData(entry);
      this.dataStarts.set(entry, start);
    }
    return start;
  }

  /** Throws unless the entry's data can be served as is: stored (not compressed), not encrypted. */
  checkStored(entry: ZipEntry): void {
    const name = this.source.name;
    if (entry.flags & FLAG_ENCRYPTED) throw new FileError(name, `${name}: entry ${entry.name} is encrypted, which PyTorch never does`);
    if (entry.method !== METHOD_STORED) {
      throw new FileError(
        name,
        `${name}: entry ${entry.name} is compressed (zip method ${entry.method}); PyTorch stores checkpoint entries ` +
          'uncompressed, so this file was re-packed by another tool (re-save it with torch.save, or re-zip it with "zip -0")',
      );
    }
    if (entry.compressedSize !== entry.size) {
      throw new FileError(name, `${name}: entry ${entry.name} is stored but its sizes differ (${entry.compressedSize} vs ${entry.size})`);
    }
  }

  private async locateData(entry: ZipEntry): Promise<number> {
    this.checkStored(entry);
    const name = this.source.name;
    const header = view(await this.source.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE));
    if (header.getUint32(0, true) !== LOCAL_HEADER_SIG) {
      throw new FileError(name, `${name}: no local header for ${entry.name} at byte ${entry.localHeaderOffset} (damaged archive)`);
    }
    const start = entry.localHeaderOffset + LOCAL_HEADER_SIZE + header.getUint16(26, true) + header.getUint16(28, true);
    if (start + entry.size > this.source.size) {
      throw new FileError(name, `${name} is truncated: entry ${entry.name} needs bytes up to ${start + entry.size} but the file has ${this.source.size}`);
    }
    return start;
  }
}
