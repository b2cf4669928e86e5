/**
 * Chooses this adapter's kernel family (src/gpu/kernelChoice.ts) by timing both on small training-shaped work: the
 * CPU or GPU shape of the row, flat and reduction kernels on a layer norm, GELU and sums, forward and backward; then,
 * where the adapter offers subgroups, the tiled and the subgroup matmul on a linear layer's three products. A choice
 * other than the assumed one is taken only when it is clearly faster, so timing noise cannot flip it. The result is
 * kept per adapter in a store (a file in Node, the origin private file system in the page) and read back later.
 *
 * A fallback adapter is a software renderer by definition and is not measured: it gets the CPU shape, which on
 * SwiftShader measured 4-6x faster on the row trial and its subgroup matmul 1.2-1.4x on the matmul trial, and
 * measuring there would cost 5-6 s of pipeline compiles and slow trials on a first visit. Every other adapter is
 * measured once: a GPU, or a CPU driver that does not call itself a fallback (Mesa's lavapipe).
 */
import { type KernelChoice, adapterKey } from '../gpu/kernelChoice.ts';
import { gpu } from './engine.ts';
import { gpuMedianMs } from './gpuTiming.ts';
import { gelu } from './ops/activation.ts';
import { layerNorm } from './ops/layernorm.ts';
import { matmul } from './ops/matmul.ts';
import { sum, sumAll } from './ops/reduce.ts';
import { backward } from './tape.ts';
import { type Tensor, fromArray } from './tensor.ts';

/** Where measured choices are kept between sessions: one JSON text. */
export interface ChoiceStore {
  read(): Promise<string | null>;
  write(text: string): Promise<void>;
}

/** Raised when the kernels change enough that earlier measurements no longer hold: stored choices are then ignored. */
const TUNING_VERSION = 1;
/** A candidate replaces the assumed choice only when its median time is below this fraction of the assumed one's. */
const CLEARLY_FASTER = 0.9;
const REPS = 3;

interface StoredChoices {
  version: number;
  adapters: Record<string, { cpuStyle: boolean; matmul: KernelChoice['matmul']; ms: Record<string, number> }>;
}

export interface Tuning {
  choice: KernelChoice;
  /** Median ms of each trial, "rows cpu" / "rows gpu" / "matmul tiled" / "matmul subgroups"; as stored when read back. */
  ms: Record<string, number>;
  how: 'measured now' | 'read back' | 'fallback adapter';
}

/** Sets gpu().kernels to the measured (or stored) choice for this adapter and returns it. */
export async function tuneKernels(store: ChoiceStore | null): Promise<Tuning> {
  const runtime = gpu();
  if (runtime.adapter.isFallbackAdapter) return { choice: runtime.kernels, ms: {}, how: 'fallback adapter' };
  const key = adapterKey(runtime.adapter);
  const saved = parseStored(await store?.read().catch(() => null));
  const known = saved.adapters[key];
  if (known && usable(known, runtime.adapter.features)) {
    runtime.kernels = { cpuStyle: known.cpuStyle, matmul: known.matmul, source: 'measured' };
    return { choice: runtime.kernels, ms: known.ms, how: 'read back' };
  }
  const assumed = runtime.kernels;
  const ms: Record<string, number> = {};
  try {
    const rows = await faster(
      assumed.cpuStyle,
      !assumed.cpuStyle,
      (cpuStyle) => `rows ${cpuStyle ? 'cpu' : 'gpu'}`,
      ms,
      (cpuStyle) => {
        runtime.kernels = { ...assumed, cpuStyle };
        return rowsTrial;
      },
    );
    let matmulKind = assumed.matmul;
    if (runtime.adapter.features.includes('subgroups')) {
      const other = assumed.matmul === 'tiled' ? 'subgroups' : 'tiled';
      matmulKind = await faster(
        assumed.matmul,
        other,
        (kind) => `matmul ${kind}`,
        ms,
        (kind) => {
          runtime.kernels = { ...assumed, cpuStyle: rows, matmul: kind };
          return matmulTrial;
        },
      );
    }
    runtime.kernels = { cpuStyle: rows, matmul: matmulKind, source: 'measured' };
  } catch (error) {
    runtime.kernels = assumed;
    throw error;
  }
  saved.adapters[key] = { cpuStyle: runtime.kernels.cpuStyle, matmul: runtime.kernels.matmul, ms };
  await store?.write(JSON.stringify(saved)).catch(() => undefined); // unsaved, it is measured again next session
  return { choice: runtime.kernels, ms, how: 'measured now' };
}

/** A stored entry this adapter can run: anything else (a corrupt or edited file) is measured again. */
function usable(entry: StoredChoices['adapters'][string], features: readonly string[]): boolean {
  const matmul = entry.matmul === 'tiled' || (entry.matmul === 'subgroups' && features.includes('subgroups'));
  return typeof entry.cpuStyle === 'boolean' && matmul && typeof entry.ms === 'object' && entry.ms !== null;
}

function parseStored(text: string | null | undefined): StoredChoices {
  try {
    const parsed = JSON.parse(text ?? '') as StoredChoices;
    if (parsed.version === TUNING_VERSION && parsed.adapters && typeof parsed.adapters === 'object') return parsed;
  } catch {
    // missing or unreadable: measured again
  }
  return { version: TUNING_VERSION, adapters: {} };
}

/** `assumed` unless `other` runs the trial (set up by `use`) clearly faster; both medians go into `ms`. */
async function faster<T>(assumed: T, other: T, name: (c: T) => string, ms: Record<string, number>, use: (c: T) => () => void): Promise<T> {
  for (const candidate of [assumed, other]) ms[name(candidate)] = await gpuMedianMs(use(candidate), REPS);
  return ms[name(other)]! < CLEARLY_FASTER * ms[name(assumed)]! ? other : assumed;
}

/** Deterministic values of order 1. */
const filled = (shape: number[], seed: number): Tensor => {
  const n = shape.reduce((a, b) => a * b, 1);
  return fromArray(
    Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed)),
    shape,
  );
};

/** A transformer block's row kernels at the tiny preset's width: layer norm, GELU and a bias-like sum, both ways. */
function rowsTrial(): void {
  const x = filled([2048, 64], 1);
  const weight = filled([64], 2);
  const bias = filled([64], 3);
  for (const t of [x, weight, bias]) t.requiresGrad = true;
  const y = gelu(layerNorm(x, weight, bias));
  backward(sumAll(sum(y, 0)));
}

/** A linear layer's products at training shape: forward, input gradient and weight gradient. */
function matmulTrial(): void {
  const x = filled([1024, 256], 4);
  const w = filled([256, 256], 5);
  const gradOut = filled([1024, 256], 6);
  matmul(x, w, { transB: true });
  matmul(gradOut, w);
  matmul(gradOut, x, { transA: true });
}
