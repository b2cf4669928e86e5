/**
 * Reads a tar archive as a stream, member by member: only the member being read is in memory, never the archive.
 * POSIX ustar (name prefix), pax extended headers (path, size) and GNU long names are understood; directories,
 * links and other non-file members are passed over. A header whose checksum does not add up ends the archive with
 * an error naming the byte where it happened: past a damaged header no member boundary can be trusted.
 */

import { formatBytes } from '../format.ts';

const BLOCK = 512;

export interface TarMember {
  /** The member's path inside the archive ('/' separators). */
  name: string;
  bytes: Uint8Array;
}

/** A member that was passed over, and why (too large, not a regular file). */
export interface TarSkip {
  name: string;
  reason: string;
}

export interface TarOptions {
  /** Members larger than this are skipped, not read into memory (a shard's image or caption is far smaller). */
  maxMemberBytes?: number;
}

/** The most one member may hold here: what a zip entry may inflate to (userData-browser.ts). */
export const MAX_TAR_MEMBER_BYTES = 256 * 2 ** 20;

/** Exactly-n-byte reads over a byte stream. */
class StreamBytes {
  private chunks: Uint8Array[] = [];
  private buffered = 0;
  private done = false;
  /** Bytes consumed so far: where the next read starts in the archive. */
  offset = 0;

  constructor(private readonly reader: ReadableStreamDefaultReader<Uint8Array>) {}

  /** Fills the buffer to `n` bytes if the stream has them; false at its end. */
  private async fill(n: number): Promise<boolean> {
    while (this.buffered < n && !this.done) {
      const { value, done } = await this.reader.read();
      if (done) this.done = true;
      else if (value.byteLength > 0) {
        this.chunks.push(value);
        this.buffered += value.byteLength;
      }
    }
    return this.buffered >= n;
  }

  /** The next `n` bytes, or null when the stream ends before them (`available` then says how many are left). */
  async read(n: number): Promise<Uint8Array | null> {
    if (!(await this.fill(n))) return null;
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const head = this.chunks[0]!;
      const take = Math.min(head.byteLength, n - at);
      out.set(head.subarray(0, take), at);
      at += take;
      if (take === head.byteLength) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
    }
    this.buffered -= n;
    this.offset += n;
    return out;
  }

  /** Drops `n` bytes without keeping them; false when the stream ends first. */
  async skip(n: number): Promise<boolean> {
    let left = n;
    while (left > 0) {
      if (!(await this.fill(1))) return false;
      const head = this.chunks[0]!;
      const take = Math.min(head.byteLength, left);
      if (take === head.byteLength) this.chunks.shift();
      else this.chunks[0] = head.subarray(take);
      this.buffered -= take;
      this.offset += take;
      left -= take;
    }
    return true;
  }

  get available(): number {
    return this.buffered;
  }
}

const latin1 = new TextDecoder('latin1');
const utf8 = new TextDecoder('utf-8');

/** A NUL-terminated field. */
function text(header: Uint8Array, start: number, length: number, decoder = utf8): string {
  const field = header.subarray(start, start + length);
  const end = field.indexOf(0);
  return decoder.decode(end < 0 ? field : field.subarray(0, end));
}

/** An octal number field (spaces and NULs around it), or base-256 when its first byte has the high bit set. */
function number(header: Uint8Array, start: number, length: number): number {
  const field = header.subarray(start, start + length);
  if (field[0]! & 0x80) {
    let value = field[0]! & 0x7f;
    for (const byte of field.subarray(1)) value = value * 256 + byte;
    return value;
  }
  const digits = latin1
    .decode(field)
    .replace(/[\0 ]+/g, ' ')
    .trim();
  return digits === '' ? 0 : Number.parseInt(digits, 8);
}

/** The header checksum: every byte summed, the checksum field counted as eight spaces. */
function checksumOf(header: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 0x20 : header[i]!;
  return sum;
}

/** The records of a pax extended header: "<length> <key>=<value>\n" each. */
function paxRecords(bytes: Uint8Array): Map<string, string> {
  const records = new Map<string, string>();
  let at = 0;
  while (at < bytes.length) {
    const space = bytes.indexOf(0x20, at);
    if (space < 0) break;
    const length = Number.parseInt(latin1.decode(bytes.subarray(at, space)), 10);
    if (!(length > 0) || at + length > bytes.length) break;
    const record = utf8.decode(bytes.subarray(space + 1, at + length - 1));
    const equals = record.indexOf('=');
    if (equals > 0) records.set(record.slice(0, equals), record.slice(equals + 1));
    at += length;
  }
  return records;
}

const padded = (size: number) => Math.ceil(size / BLOCK) * BLOCK;

/**
 * The archive's regular files in order, as members or (too large) skips. `source` names the archive in errors.
 * Throws on a damaged header or a truncated archive, after yielding every member before it.
 */
export async function* readTar(stream: ReadableStream<Uint8Array>, source: string, options: TarOptions = {}): AsyncGenerator<TarMember | TarSkip> {
  const limit = options.maxMemberBytes ?? MAX_TAR_MEMBER_BYTES;
  const reader = stream.getReader();
  const bytes = new StreamBytes(reader);
  /** From a pax header or a GNU long-name member: they describe the member that follows. */
  let pending: { path?: string; size?: number } = {};
  try {
    for (;;) {
      const at = bytes.offset;
      const header = await bytes.read(BLOCK);
      if (!header) {
        if (bytes.available === 0 && at > 0) return; // no end blocks: GNU tar and Python accept that too
        throw new Error(`${source} is not a tar archive, or is truncated: it ends inside a header at byte ${at}`);
      }
      if (header.every((b) => b === 0)) return;
      const stored = number(header, 148, 8);
      if (stored !== checksumOf(header)) {
        throw new Error(
          at === 0
            ? `${source} is not a tar archive (its first header's checksum does not add up)`
            : `${source} is damaged at byte ${at}: a header's checksum does not add up`,
        );
      }
      const type = String.fromCharCode(header[156]!);
      const size = pending.size ?? number(header, 124, 12);
      const ustar = latin1.decode(header.subarray(257, 262)) === 'ustar';
      const prefix = ustar ? text(header, 345, 155) : '';
      const name = pending.path ?? (prefix ? `${prefix}/${text(header, 0, 100)}` : text(header, 0, 100));
      const isMeta = type === 'x' || type === 'L' || type === 'g';
      if (!isMeta) pending = {};
      const regular = type === '0' || type === '\0' || type === '7';
      if ((isMeta || regular) && size <= limit) {
        const data = await bytes.read(size);
        if (!data || !(await bytes.skip(padded(size) - size))) throw new Error(`${source} is truncated: it ends inside ${name || 'a member'} (byte ${at})`);
        if (type === 'x') {
          const records = paxRecords(data);
          const path = records.get('path');
          const paxSize = records.get('size');
          pending = { ...(path !== undefined ? { path } : {}), ...(paxSize !== undefined ? { size: Number(paxSize) } : {}) };
        } else if (type === 'L') pending = { path: text(data, 0, data.length) };
        else if (regular) yield { name, bytes: data };
        continue;
      }
      if (!(await bytes.skip(padded(size)))) throw new Error(`${source} is truncated: it ends inside ${name || 'a member'} (byte ${at})`);
      if (regular) yield { name, reason: `holds ${formatBytes(size)}, more than the ${formatBytes(limit)} a member may have here` };
      else if (!isMeta && type !== '5') yield { name, reason: 'not a regular file (a link or a device)' };
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export const isTarSkip = (item: TarMember | TarSkip): item is TarSkip => 'reason' in item;
