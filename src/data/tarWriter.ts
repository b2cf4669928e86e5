/**
 * Writes tar archives as POSIX ustar, what Python's tarfile, GNU tar and webdataset read. An archive is a Blob made
 * of headers and the members' own Blobs: a member read from disk is never copied into memory to build it.
 */

const BLOCK = 512;
const encoder = new TextEncoder();

/** An octal field of `length` bytes: digits padded with zeros, then a NUL. */
function octal(header: Uint8Array, start: number, length: number, value: number): void {
  const digits = value.toString(8).padStart(length - 1, '0');
  if (digits.length > length - 1) throw new Error(`tar: ${value} does not fit a ${length}-byte header field`);
  header.set(encoder.encode(digits), start);
}

/** The 512-byte ustar header of a regular file. Names are at most 100 bytes (the ones written here are short keys). */
export function tarHeader(name: string, size: number, mtimeSeconds = 0): Uint8Array<ArrayBuffer> {
  const nameBytes = encoder.encode(name);
  if (nameBytes.length > 100) throw new Error(`tar: the member name ${name} is longer than 100 bytes`);
  const header = new Uint8Array(BLOCK);
  header.set(nameBytes, 0);
  octal(header, 100, 8, 0o644);
  octal(header, 108, 8, 0);
  octal(header, 116, 8, 0);
  octal(header, 124, 12, size);
  octal(header, 136, 12, mtimeSeconds);
  header[156] = 0x30; // '0': a regular file
  header.set(encoder.encode('ustar\u000000'), 257);
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  // Six octal digits, a NUL and a space, as tar itself writes the checksum.
  header.set(encoder.encode(`${sum.toString(8).padStart(6, '0')}\u0000 `), 148);
  return header;
}

/** Zeros that bring a member of `size` bytes to a whole number of blocks. */
export const tarPadding = (size: number): Uint8Array<ArrayBuffer> => new Uint8Array((BLOCK - (size % BLOCK)) % BLOCK);

export interface TarEntry {
  name: string;
  data: Blob;
}

/** The archive of `entries`, in order, with its two end blocks. */
export function tarArchive(entries: readonly TarEntry[], mtimeSeconds = 0): Blob {
  const parts: BlobPart[] = [];
  for (const { name, data } of entries) parts.push(tarHeader(name, data.size, mtimeSeconds), data, tarPadding(data.size));
  parts.push(new Uint8Array(2 * BLOCK));
  return new Blob(parts, { type: 'application/x-tar' });
}
