/**
 * Tar-aware mutations of webdataset shards: a header's number (size, mode, mtime, ...) set to an edge value, in
 * octal text or GNU's base-256; its type flag changed (directories, links, pax and GNU long-name headers); a pax
 * header with hostile records put before a member; a member listed twice (an extension repeats: a new sample
 * starts) or renamed (no extension, a path out of the archive, webdataset's own "__key__" names). Headers are found
 * by their checksums, and an edited header's checksum is mostly made right again, so that readers believe it.
 */
import type { Random } from '../../data/random.ts';
import { type Mutation, below, concatBytes, edgeValues, mutateBytes, pick } from './mutate.ts';

const BLOCK = 512;
const CHECKSUM_AT = 148;
const TYPEFLAG_AT = 156;
/** Offset and width of each numeric field of a ustar header. */
const NUMBERS: [number, number][] = [
  [100, 8], // mode
  [108, 8], // uid
  [116, 8], // gid
  [124, 12], // size
  [124, 12],
  [136, 12], // mtime
];

const checksumOf = (header: Uint8Array): number => header.reduce((sum, byte, i) => sum + (i >= CHECKSUM_AT && i < CHECKSUM_AT + 8 ? 32 : byte), 0);

function storedChecksum(header: Uint8Array): number {
  const text = String.fromCharCode(...header.subarray(CHECKSUM_AT, CHECKSUM_AT + 8)).replace(/[\0 ]+$/, '');
  return /^[0-7]+$/.test(text.trim()) ? Number.parseInt(text.trim(), 8) : -1;
}

/** Writes the checksum tar readers expect: six octal digits, a NUL and a space. */
function fixChecksum(bytes: Uint8Array, at: number): void {
  const header = bytes.subarray(at, at + BLOCK);
  header.set(new TextEncoder().encode(`${checksumOf(header).toString(8).padStart(6, '0')}\0 `), CHECKSUM_AT);
}

/** Where each header whose checksum adds up starts (at 512-byte boundaries). */
function headers(bytes: Uint8Array): number[] {
  const found: number[] = [];
  for (let at = 0; at + BLOCK <= bytes.length; at += BLOCK) {
    const header = bytes.subarray(at, at + BLOCK);
    if (header.some((b) => b !== 0) && storedChecksum(header) === checksumOf(header)) found.push(at);
  }
  return found;
}

/** The member's data size as its header states it in octal (0 where it does not parse). */
function sizeOf(bytes: Uint8Array, at: number): number {
  const text = String.fromCharCode(...bytes.subarray(at + 124, at + 136)).replace(/[\0 ]+/g, '');
  return /^[0-7]+$/.test(text) ? Number.parseInt(text, 8) : 0;
}

/** The header's bytes after `edit`, its checksum made right again four times in five. */
function editHeader(random: Random, bytes: Uint8Array, edit: (out: Uint8Array, at: number) => void): Uint8Array {
  const found = headers(bytes);
  if (!found.length) return mutateBytes(random, bytes);
  const at = pick(random, found);
  const out = bytes.slice();
  edit(out, at);
  if (random() < 0.8) fixChecksum(out, at);
  return out;
}

/** A number in `width` bytes: octal text (zero-padded, or overflowing into the next field) or GNU base-256. */
function putNumber(random: Random, out: Uint8Array, at: number, width: number, value: bigint): void {
  if (random() < 0.7) {
    const text = value.toString(8).padStart(width - 1, '0');
    const bytes = new TextEncoder().encode(random() < 0.8 ? `${text.slice(-(width - 1))}\0` : text);
    out.set(bytes.subarray(0, Math.min(bytes.length, out.length - at)), at);
    return;
  }
  // Base-256: a first byte with its top bit set, then the value big-endian.
  for (let i = width - 1; i >= 1; i--) {
    out[at + i] = Number(value & 0xffn);
    value >>= 8n;
  }
  out[at] = 0x80;
}

const editNumber: Mutation = (random, bytes) =>
  editHeader(random, bytes, (out, at) => {
    const [offset, width] = pick(random, NUMBERS);
    putNumber(random, out, at + offset, width, pick(random, edgeValues(bytes.length)));
  });

const TYPEFLAGS = ['0', '\0', '5', '2', '1', 'x', 'g', 'L', 'K', 'S', '7', '3', '4', '6'];

const editTypeflag: Mutation = (random, bytes) =>
  editHeader(random, bytes, (out, at) => {
    out[at + TYPEFLAG_AT] = random() < 0.9 ? pick(random, TYPEFLAGS).charCodeAt(0) : below(random, 256);
  });

const HOSTILE_NAMES = [
  'noextension',
  '../../etc/passwd.txt',
  '/abs/000001.jpg',
  '__key__.txt',
  'a/b/../000001.jpg',
  '.hidden',
  '000001.',
  `${'d/'.repeat(60)}x.txt`,
];

/** A member's name set to another member's, or to a name that breaks keys and paths. */
const renameMember: Mutation = (random, bytes) => {
  const found = headers(bytes);
  const names = found.map((at) => bytes.slice(at, at + 100));
  return editHeader(random, bytes, (out, at) => {
    const name = random() < 0.5 && names.length ? pick(random, names) : new TextEncoder().encode(pick(random, HOSTILE_NAMES).slice(0, 100));
    out.fill(0, at, at + 100);
    out.set(name, at);
  });
};

/** A member (header and data blocks) listed twice in a row. */
const duplicateMember: Mutation = (random, bytes) => {
  const found = headers(bytes);
  if (!found.length) return mutateBytes(random, bytes);
  const at = pick(random, found);
  const end = Math.min(bytes.length, at + BLOCK + Math.ceil(sizeOf(bytes, at) / BLOCK) * BLOCK);
  return concatBytes(bytes.subarray(0, end), bytes.subarray(at, end), bytes.subarray(end));
};

/** One pax record "<length> <key>=<value>\n", its length right or not. */
function paxRecord(random: Random, size: number): string {
  const key = pick(random, ['size', 'path', 'linkpath', 'mtime', 'comment']);
  const value =
    key === 'size'
      ? pick(random, edgeValues(size)).toString()
      : key === 'path'
        ? pick(random, [...HOSTILE_NAMES, 'x'.repeat(5000)])
        : 'x'.repeat(below(random, 100));
  const body = ` ${key}=${value}\n`;
  let length = body.length + 1;
  while (String(length).length + body.length !== length) length++;
  const stated = random() < 0.7 ? length : pick(random, [0, 1, length - 1, length + 1, 2 ** 31, Number.MAX_SAFE_INTEGER]);
  return `${stated}${body}`;
}

/** A pax extended header with one to three records, put before a member (it then describes that member). */
const insertPax: Mutation = (random, bytes) => {
  const found = headers(bytes);
  if (!found.length) return mutateBytes(random, bytes);
  const at = pick(random, found);
  const records = new TextEncoder().encode(Array.from({ length: 1 + below(random, 3) }, () => paxRecord(random, bytes.length)).join(''));
  const header = bytes.slice(at, at + BLOCK);
  header[TYPEFLAG_AT] = (random() < 0.8 ? 'x' : 'g').charCodeAt(0);
  const stated = random() < 0.8 ? BigInt(records.length) : pick(random, edgeValues(bytes.length));
  putNumber(random, header, 124, 12, stated);
  fixChecksum(header, 0);
  const data = new Uint8Array(Math.ceil(records.length / BLOCK) * BLOCK);
  data.set(records);
  return concatBytes(bytes.subarray(0, at), header, data, bytes.subarray(at));
};

const TAR_MUTATIONS: readonly Mutation[] = [editNumber, editNumber, editTypeflag, renameMember, duplicateMember, insertPax, mutateBytes];

/** One or two tar-aware mutations, or byte mutations. */
export const mutateTar: Mutation = (random, bytes) => {
  let out = bytes;
  for (let k = 1 + below(random, 2); k > 0; k--) out = pick(random, TAR_MUTATIONS)(random, out);
  return out;
};
