/** The zip records this layer reads and writes (PKWARE APPNOTE 6.3): signatures, fixed sizes, ZIP64 markers. */

export const LOCAL_HEADER_SIG = 0x04034b50;
export const CENTRAL_HEADER_SIG = 0x02014b50;
export const END_SIG = 0x06054b50;
export const ZIP64_END_SIG = 0x06064b50;
export const ZIP64_LOCATOR_SIG = 0x07064b50;

export const LOCAL_HEADER_SIZE = 30;
export const CENTRAL_HEADER_SIZE = 46;
export const END_SIZE = 22;
export const ZIP64_END_SIZE = 56;
export const ZIP64_LOCATOR_SIZE = 20;
/** The end record may be followed by a comment of up to 65535 bytes. */
export const MAX_COMMENT = 0xffff;

/** Extra-field ids: ZIP64 sizes and offsets, and the padding PyTorch uses to align entry data ('FB'). */
export const ZIP64_EXTRA_ID = 0x0001;
export const PADDING_EXTRA_ID = 0x4246;

/** A 32-bit size or offset field holding this value means "see the ZIP64 extra field". */
export const U32_MARKER = 0xffffffff;
export const U16_MARKER = 0xffff;

/** Compression method 0: stored. PyTorch stores every entry. */
export const METHOD_STORED = 0;
export const FLAG_ENCRYPTED = 0x0001;

/** Reads a little-endian u64 as a number, refusing values past 2^53 (no file is that large). */
export function getU64(view: DataView, at: number): number {
  const value = view.getBigUint64(at, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`a 64-bit zip field holds ${value}, past any real file size`);
  return Number(value);
}

export function setU64(view: DataView, at: number, value: number): void {
  view.setBigUint64(at, BigInt(value), true);
}
