import { describe, expect, it } from 'vitest';
import { fromFloat32, toFloat32 } from './dtypes.ts';
import fixture from '../../fixtures/float16.json' with { type: 'json' };

/** IEEE 754 binary16 by its definition, independent of the bit manipulation in dtypes.ts. */
function halfValue(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const mantissa = h & 0x3ff;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

describe('conversion to float32', () => {
  it('float16: all 65536 bit patterns, exactly', () => {
    const got = toFloat32(new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer), 'float16');
    for (let h = 0; h < 65536; h++) {
      const want = halfValue(h);
      if (!Object.is(got[h], want) && !(Number.isNaN(want) && Number.isNaN(got[h]))) {
        throw new Error(`half 0x${h.toString(16)}: ${got[h]}, expected ${want}`);
      }
    }
  });

  it('bfloat16 keeps every bit (the upper half of a float32)', () => {
    const floats = Float32Array.of(1.5, -0, Infinity, -3.0e38, 1e-40);
    const upper = Uint16Array.from(new Uint32Array(floats.buffer), (b) => b >>> 16);
    const got = toFloat32(new Uint8Array(upper.buffer), 'bfloat16');
    expect(Array.from(new Uint32Array(got.buffer))).toEqual(Array.from(new Uint32Array(floats.buffer), (b) => (b & 0xffff0000) >>> 0));
  });

  it('reads bytes at any alignment, and integers', () => {
    const raw = new Uint8Array(1 + 16);
    new DataView(raw.buffer).setBigInt64(1, -5n, true);
    new DataView(raw.buffer).setBigInt64(9, 1n << 40n, true);
    expect(toFloat32(raw.subarray(1), 'int64')).toEqual(Float32Array.of(-5, 2 ** 40));
    const f = new Uint8Array(9);
    new DataView(f.buffer).setFloat32(1, 0.1, true);
    new DataView(f.buffer).setFloat32(5, -7, true);
    expect(toFloat32(f.subarray(1), 'float32')).toEqual(Float32Array.of(0.1, -7));
    expect(toFloat32(Uint8Array.of(0, 1, 0, 2), 'bool')).toEqual(Float32Array.of(0, 1, 0, 1));
    expect(toFloat32(Uint8Array.of(255, 128), 'int8')).toEqual(Float32Array.of(-1, -128));
  });
});

describe('conversion from float32', () => {
  const halfBits = (values: Float32Array) => Array.from(new Uint16Array(fromFloat32(values, 'float16').slice().buffer));

  it("float16 rounds as PyTorch's Tensor.half(): ties to even, overflow to infinity, subnormals (fixtures/float16.json)", () => {
    const values = new Float32Array(Int32Array.from(fixture.float32_bits).buffer);
    const got = halfBits(values);
    for (const [i, want] of fixture.float16_bits.entries()) {
      if (got[i] !== want) throw new Error(`float32 ${values[i]}: half 0x${got[i]!.toString(16)}, PyTorch 0x${want.toString(16)}`);
    }
  });

  it('float16: every half value comes back to its own bits, NaN stays NaN', () => {
    const all = toFloat32(new Uint8Array(Uint16Array.from({ length: 65536 }, (_, i) => i).buffer), 'float16');
    const back = halfBits(all);
    for (let h = 0; h < 65536; h++) {
      const nan = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0;
      if (nan ? (back[h]! & 0x7c00) !== 0x7c00 || (back[h]! & 0x3ff) === 0 : back[h] !== h)
        throw new Error(`half 0x${h.toString(16)} came back 0x${back[h]!.toString(16)}`);
    }
  });

  it('float32 is the same memory', () => {
    const values = Float32Array.of(1, 2, 3);
    expect(fromFloat32(values, 'float32').buffer).toBe(values.buffer);
  });
});
