/**
 * Parameter initialisation, as rules a module states next to its parameters: PyTorch's defaults for its layers
 * (nn.Linear, nn.MultiheadAttention, nn.LayerNorm, nn.Conv2d) and OpenCLIP's overrides where it makes them.
 * Values are drawn on the host from a seeded stream, so the same seed gives the same weights in any host.
 */

import type { Random } from '../data/random.ts';

/** How a parameter starts: N(0, std), U(-bound, bound), or every element `value`. */
export type Init = { normal: number } | { uniform: number } | { constant: number };

export const normalInit = (std: number): Init => ({ normal: std });
export const uniformInit = (bound: number): Init => ({ uniform: bound });
export const zerosInit: Init = { constant: 0 };
export const onesInit: Init = { constant: 1 };
/** nn.Linear's and nn.Conv2d's default, kaiming_uniform(a = sqrt(5)) for weights and the same bound for biases. */
export const fanInUniform = (fanIn: number): Init => uniformInit(fanIn ** -0.5);
/** xavier_uniform for a [fanOut, fanIn] matrix (nn.MultiheadAttention's in_proj_weight). */
export const xavierUniform = (fanIn: number, fanOut: number): Init => uniformInit(Math.sqrt(6 / (fanIn + fanOut)));

/**
 * `count` values following `init`. Random rules need a stream: without one (null) the parameter is left for a
 * checkpoint to fill and null is returned; constants need none.
 */
export function draw(init: Init, count: number, random: Random | null): Float32Array | null {
  if ('constant' in init) return new Float32Array(count).fill(init.constant);
  if (!random) return null;
  const out = new Float32Array(count);
  if ('uniform' in init) {
    for (let i = 0; i < count; i++) out[i] = (2 * random() - 1) * init.uniform;
    return out;
  }
  for (let i = 0; i < count; i += 2) {
    // Box-Muller: two independent normals from two uniforms.
    const r = Math.sqrt(-2 * Math.log(1 - random()));
    const theta = 2 * Math.PI * random();
    out[i] = r * Math.cos(theta) * init.normal;
    if (i + 1 < count) out[i + 1] = r * Math.sin(theta) * init.normal;
  }
  return out;
}
