/**
 * Streams a zip of stored entries to a ByteSink, the way PyTorch lays out a .pt file: each entry's data starts on
 * a 64-byte boundary (padded through an 'FB' extra field in its local header), entries are never compressed.
 * Every size and offset goes through ZIP64 records, whatever the file size: one code path, so the small files
 * the tests hand to torch.load exercise exactly what a file past 4 GiB needs (torch and Python's zipfile read it).
 */
import type { ByteSink } from './byteSink.ts';
import { crc32 } from './crc32.ts';
import {
  CENTRAL_HEADER_SIG,
  CENTRAL_HEADER_SIZE,
  END_SIG,
  END_SIZE,
  LOCAL_HEADER_SIG,
  LOCAL_HEADER_SIZE,
  PADDING_EXTRA_ID,
  U16_MARKER,
  U32_MARKER,
  ZIP64_END_SIG,
  ZIP64_END_SIZE,
  ZIP64_EXTRA_ID,
  ZIP64_LOCATOR_SIG,
  ZIP64_LOCATOR_SIZE,
  setU64,
} from './zipFormat.ts';

export const DATA_ALIGNMENT = 64;
/** "Version needed to extract" 4.5: ZIP64. */
const VERSION = 45;
/** General-purpose flag bit 11: names are UTF-8. */
const FLAG_UTF8 = 0x0800;
/** 1980-01-01 00:00, the first DOS date: fixed, so that the same checkpoint always gives the same bytes. */
const DOS_DATE = (0 << 9) | (1 << 5) | 1;

const LOCAL_ZIP64_EXTRA = 4 + 16;
const CENTRAL_ZIP64_EXTRA = 4 + 24;
const PADDING_EXTRA_HEADER = 4;

interface Written {
  name: Uint8Array;
  crc: number;
  size: number;
  offset: number;
}

const utf8 = new TextEncoder();
const PAD_BYTE = 'Z'.charCodeAt(0);

export class ZipWriter {
  private offset = 0;
  private readonly written: Written[] = [];

  constructor(private readonly sink: ByteSink) {}

  /** Writes one stored entry. The data is read once (CRC) and handed to the sink as is. */
  async add(name: string, data: Uint8Array): Promise<void> {
    const nameBytes = utf8.encode(name);
    const entry: Written = { name: nameBytes, crc: crc32(data), size: data.byteLength, offset: this.offset };
    const fixed = LOCAL_HEADER_SIZE + nameBytes.length + LOCAL_ZIP64_EXTRA + PADDING_EXTRA_HEADER;
    const padding = (DATA_ALIGNMENT - ((this.offset + fixed) % DATA_ALIGNMENT)) % DATA_ALIGNMENT;
    const header = new Uint8Array(fixed + padding);
    const v = new DataView(header.buffer);
    v.setUint32(0, LOCAL_HEADER_SIG, true);
    v.setUint16(4, VERSION, true);
    v.setUint16(6, FLAG_UTF8, true);
    v.setUint16(8, 0, true); // stored
    v.setUint16(10, 0, true);
    v.setUint16(12, DOS_DATE, true);
    v.setUint32(14, entry.crc, true);
    v.setUint32(18, U32_MARKER, true);
    v.setUint32(22, U32_MARKER, true);
    v.setUint16(26, nameBytes.length, true);
    v.setUint16(28, LOCAL_ZIP64_EXTRA + PADDING_EXTRA_HEADER + padding, true);
    header.set(nameBytes, LOCAL_HEADER_SIZE);
    let at = LOCAL_HEADER_SIZE + nameBytes.length;
    v.setUint16(at, ZIP64_EXTRA_ID, true);
    v.setUint16(at + 2, 16, true);
    setU64(v, at + 4, entry.size);
    setU64(v, at + 12, entry.size);
    at += LOCAL_ZIP64_EXTRA;
    v.setUint16(at, PADDING_EXTRA_ID, true);
    v.setUint16(at + 2, padding, true);
    header.fill(PAD_BYTE, at + PADDING_EXTRA_HEADER);
    await this.emit(header);
    await this.emit(data);
    this.written.push(entry);
  }

  /** Central directory, ZIP64 end record and locator, end record; then closes the sink. */
  async finish(): Promise<void> {
    const directoryOffset = this.offset;
    const size = this.written.reduce((n, e) => n + CENTRAL_HEADER_SIZE + e.name.length + CENTRAL_ZIP64_EXTRA, 0);
    const directory = new Uint8Array(size + ZIP64_END_SIZE + ZIP64_LOCATOR_SIZE + END_SIZE);
    const v = new DataView(directory.buffer);
    let at = 0;
    for (const e of this.written) {
      v.setUint32(at, CENTRAL_HEADER_SIG, true);
      v.setUint16(at + 4, VERSION, true);
      v.setUint16(at + 6, VERSION, true);
      v.setUint16(at + 8, FLAG_UTF8, true);
      v.setUint16(at + 14, DOS_DATE, true);
      v.setUint32(at + 16, e.crc, true);
      v.setUint32(at + 20, U32_MARKER, true);
      v.setUint32(at + 24, U32_MARKER, true);
      v.setUint16(at + 28, e.name.length, true);
      v.setUint16(at + 30, CENTRAL_ZIP64_EXTRA, true);
      v.setUint32(at + 42, U32_MARKER, true);
      directory.set(e.name, at + CENTRAL_HEADER_SIZE);
      at += CENTRAL_HEADER_SIZE + e.name.length;
      v.setUint16(at, ZIP64_EXTRA_ID, true);
      v.setUint16(at + 2, 24, true);
      setU64(v, at + 4, e.size);
      setU64(v, at + 12, e.size);
      setU64(v, at + 20, e.offset);
      at += CENTRAL_ZIP64_EXTRA;
    }
    const count = this.written.length;
    const zip64EndOffset = directoryOffset + size;
    v.setUint32(at, ZIP64_END_SIG, true);
    setU64(v, at + 4, ZIP64_END_SIZE - 12);
    v.setUint16(at + 12, VERSION, true);
    v.setUint16(at + 14, VERSION, true);
    setU64(v, at + 24, count);
    setU64(v, at + 32, count);
    setU64(v, at + 40, size);
    setU64(v, at + 48, directoryOffset);
    at += ZIP64_END_SIZE;
    v.setUint32(at, ZIP64_LOCATOR_SIG, true);
    setU64(v, at + 8, zip64EndOffset);
    v.setUint32(at + 16, 1, true);
    at += ZIP64_LOCATOR_SIZE;
    v.setUint32(at, END_SIG, true);
    v.setUint16(at + 8, Math.min(count, U16_MARKER), true);
    v.setUint16(at + 10, Math.min(count, U16_MARKER), true);
    v.setUint32(at + 12, Math.min(size, U32_MARKER), true);
    v.setUint32(at + 16, Math.min(directoryOffset, U32_MARKER), true);
    await this.emit(directory);
    await this.sink.close();
  }

  private async emit(chunk: Uint8Array): Promise<void> {
    await this.sink.write(chunk);
    this.offset += chunk.byteLength;
  }
}
