/** Seeded host-side initialisers: reproducible runs need the same weights from the same seed, in any host. */

/** mulberry32: a tiny, fast 32-bit generator; good enough for weight init and augmentation choices. */
export function rng(seed: number): Random {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A stream of uniform numbers in [0, 1); null where parameters will be loaded rather than initialised. */
export type Random = () => number;

/** Normal(0, std) values, or null without a random stream (the parameter starts at zero, to be loaded). */
export function normal(count: number, std: number, random: Random): Float32Array;
export function normal(count: number, std: number, random: Random | null): Float32Array | null;
export function normal(count: number, std: number, random: Random | null): Float32Array | null {
  if (!random) return null;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i += 2) {
    // Box-Muller: two independent normals from two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = r * Math.cos(theta) * std;
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta) * std;
  }
  return out;
}

export const constant = (count: number, value: number): Float32Array => new Float32Array(count).fill(value);
