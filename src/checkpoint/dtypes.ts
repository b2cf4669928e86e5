/** Element types a checkpoint may store, their sizes, and their conversion to float32 (what the GPU layer takes). */

export type DType = 'float64' | 'float32' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const ITEM_SIZE: Record<DType, number> = {
  float64: 8,
  float32: 4,
  float16: 2,
  bfloat16: 2,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

/** float16 bits to float32 bits, exact for every value (subnormals, infinities and NaN payloads included). */
function halfToFloatBits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) return sign | 0x7f800000 | (mantissa << 13);
  if (exponent !== 0) return sign | ((exponent + 112) << 23) | (mantissa << 13);
  if (mantissa === 0) return sign;
  // Subnormal half: normalise the mantissa into a float32 normal.
  let e = 113;
  let m = mantissa;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return sign | (e << 23) | ((m & 0x3ff) << 13);
}

/**
 * float32 bits to the nearest float16 bits, ties to even (as PyTorch's Tensor.half()): beyond half's range to
 * infinity, below its smallest subnormal to zero, NaN stays NaN.
 */
function floatToHalfBits(f: number): number {
  const sign = (f >>> 16) & 0x8000;
  const exponent = (f >>> 23) & 0xff;
  const mantissa = f & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  // The value's exponent in half's bias (15); below 1 it lands in half's subnormals.
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    // Subnormal half: shift the mantissa, with its implicit 1, right by 14 - e bits and round.
    const full = mantissa | 0x800000;
    const shift = 14 - e;
    const kept = full >>> shift;
    const rest = full & ((1 << shift) - 1);
    const half = 1 << (shift - 1);
    return sign | (kept + (rest > half || (rest === half && kept & 1) ? 1 : 0));
  }
  const kept = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa raises the exponent, to infinity at the top: the bits add as they should.
  return sign | (kept + (rest > 0x1000 || (rest === 0x1000 && kept & 1) ? 1 : 0));
}

export type WritableDType = 'float32' | 'float16';

/** float32 values as little-endian element bytes of `dtype` (float32: the same memory, no copy). */
export function fromFloat32(values: Float32Array, dtype: WritableDType): Uint8Array {
  if (dtype === 'float32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const half = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) half[i] = floatToHalfBits(bits[i]!);
  return new Uint8Array(half.buffer);
}

/** A typed-array view needs its byte offset to be a multiple of the element size: copy when it is not. */
function aligned(bytes: Uint8Array, itemSize: number): Uint8Array {
  return bytes.byteOffset % itemSize === 0 ? bytes : bytes.slice();
}

/**
 * Little-endian element bytes (as stored in .pt and .safetensors files) to float32 values.
 * float32 input comes back as a view of the same memory when it is aligned (no copy of a 100 MB embedding).
 */
export function toFloat32(bytes: Uint8Array, dtype: DType): Float32Array {
  const size = ITEM_SIZE[dtype];
  if (bytes.byteLength % size !== 0) throw new Error(`${bytes.byteLength} bytes are not a whole number of ${dtype} values`);
  const n = bytes.byteLength / size;
  const b = aligned(bytes, size);
  switch (dtype) {
    case 'float32':
      return new Float32Array(b.buffer, b.byteOffset, n);
    case 'float16': {
      const half = new Uint16Array(b.buffer, b.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = halfToFloatBits(half[i]!);
      return new Float32Array(bits.buffer);
    }
    case 'bfloat16': {
      const half = new Uint16Array(b.buffer, b.byteOffset, n);
      const bits = new Uint32Array(n);
      for (let i = 0; i < n; i++) bits[i] = half[i]! << 16;
      return new Float32Array(bits.buffer);
    }
    case 'int64': {
      const wide = new BigInt64Array(b.buffer, b.byteOffset, n);
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = Number(wide[i]!);
      return out;
    }
    case 'float64':
      return Float32Array.from(new Float64Array(b.buffer, b.byteOffset, n));
    case 'int32':
      return Float32Array.from(new Int32Array(b.buffer, b.byteOffset, n));
    case 'int16':
      return Float32Array.from(new Int16Array(b.buffer, b.byteOffset, n));
    case 'int8':
      return Float32Array.from(new Int8Array(b.buffer, b.byteOffset, n));
    case 'uint8':
      return Float32Array.from(b);
    case 'bool':
      return Float32Array.from(b, (v) => (v ? 1 : 0));
  }
}
