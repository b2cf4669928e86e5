/**
 * Packs a kernel's uniform block. Integers are written as u32 (or i32 when negative), floats tagged with
 * `f32()`. Fields are 4 bytes each, in order, so the WGSL struct must list u32/i32/f32 scalars in the same order.
 */
export interface F32 {
  readonly f32: number;
}

export const f32 = (value: number): F32 => ({ f32: value });

export function params(...fields: (number | F32)[]): Uint32Array {
  const words = new Uint32Array(Math.max(4, Math.ceil(fields.length / 4) * 4));
  const floats = new Float32Array(words.buffer);
  const ints = new Int32Array(words.buffer);
  fields.forEach((field, i) => {
    if (typeof field === 'number') {
      if (!Number.isInteger(field)) throw new Error(`params: ${field} is not an integer; wrap floats in f32()`);
      if (field < 0) ints[i] = field;
      else words[i] = field;
    } else {
      floats[i] = field.f32;
    }
  });
  return words;
}
