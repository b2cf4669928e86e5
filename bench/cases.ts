/**
 * The benchmarked products, their FLOP counts and repetition budgets, and the loop that runs them on one or
 * more implementations (our engine; tfjs-backend-webgpu and jax-js in the browser) with the same shapes and the
 * same data.
 */
import { type Budget, timeMedian } from './measure.ts';

export type ImplName = 'cosmos-web' | 'tfjs-webgpu' | 'jax-js-webgpu';
/** A product, or `ceiling`: multiply-adds with no memory traffic (bench/ceiling.ts), our engine only. */
export type Op = 'matmul' | 'attention' | 'ceiling';

/** One line of bench/results/*.json. */
export interface Row {
  op: Op;
  shape: string;
  impl: ImplName;
  median_ms: number;
  gflops: number;
}

export interface MatmulDims {
  m: number;
  k: number;
  n: number;
}

export interface AttentionDims {
  batch: number;
  heads: number;
  tokens: number;
  headDim: number;
}

/** q, k, v and the upstream gradient of the output, each [batch, tokens, heads * headDim]. */
export interface AttentionData {
  q: Float32Array;
  k: Float32Array;
  v: Float32Array;
  gradOut: Float32Array;
}

/** One product with its inputs uploaded, ready to repeat. */
export interface Prepared {
  /** One repetition; resolves once the GPU has finished it. */
  rep(): Promise<void>;
  /** The product computed once (matmul: a b; attention: dL/dq), to check that implementations agree. */
  result(): Promise<Float32Array>;
  dispose(): void;
}

export interface Implementation {
  readonly name: ImplName;
  matmul(dims: MatmulDims, a: Float32Array, b: Float32Array): Prepared;
  /** Forward and backward (gradients of q, k and v) of non-causal softmax(q kᵀ / √d) v. */
  attention(dims: AttentionDims, data: AttentionData): Prepared;
}

export interface BenchCase {
  readonly op: Op;
  readonly shape: string;
  readonly flops: number;
  readonly budget: Budget;
  prepare(impl: Implementation): Prepared;
}

/** Deterministic uniform values in [-1, 1) (mulberry32), so every implementation sees the same inputs. */
export function randomArray(length: number, seed: number): Float32Array {
  const out = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

/** 2 M N K: one multiply and one add per term. */
export const matmulFlops = ({ m, k, n }: MatmulDims): number => 2 * m * n * k;

/**
 * Only the matmul-like work counts: forward q kᵀ and p v are 2 B H T² D each (4 B H T² D); backward dp = dy vᵀ,
 * dv = pᵀ dy, dq = ds k, dk = dsᵀ q are 8 B H T² D. Softmax, scaling and layout work are left out.
 */
export const attentionFlops = ({ batch, heads, tokens, headDim }: AttentionDims): number => 12 * batch * heads * tokens * tokens * headDim;

function matmulCase(size: number, budget: Budget): BenchCase {
  const dims = { m: size, k: size, n: size };
  let data: [Float32Array, Float32Array] | null = null;
  return {
    op: 'matmul',
    shape: `${size}x${size}x${size}`,
    flops: matmulFlops(dims),
    budget,
    prepare(impl) {
      data ??= [randomArray(size * size, 1), randomArray(size * size, 2)];
      return impl.matmul(dims, ...data);
    },
  };
}

function attentionCase(dims: AttentionDims, budget: Budget): BenchCase {
  let data: AttentionData | null = null;
  const n = dims.batch * dims.tokens * dims.heads * dims.headDim;
  return {
    op: 'attention',
    shape: `${dims.batch}x${dims.heads}x${dims.tokens}x${dims.headDim}`,
    flops: attentionFlops(dims),
    budget,
    prepare(impl) {
      data ??= { q: randomArray(n, 3), k: randomArray(n, 4), v: randomArray(n, 5), gradOut: randomArray(n, 6) };
      return impl.attention(dims, data);
    },
  };
}

/** Fewer repetitions where one repetition is long (1024³ runs for seconds on a CPU adapter). */
export const CASES: readonly BenchCase[] = [
  matmulCase(256, { warmup: 2, minReps: 10, maxReps: 50, budgetMs: 3000 }),
  matmulCase(512, { warmup: 2, minReps: 5, maxReps: 30, budgetMs: 4000 }),
  matmulCase(1024, { warmup: 1, minReps: 3, maxReps: 10, budgetMs: 5000 }),
  attentionCase({ batch: 8, heads: 4, tokens: 65, headDim: 32 }, { warmup: 2, minReps: 10, maxReps: 50, budgetMs: 4000 }),
];

/** Largest |a - b| over the largest |b|: how far apart two implementations' results are. */
export function relativeDifference(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return diff / (scale || 1);
}

export interface Check {
  op: Op;
  shape: string;
  impl: ImplName;
  /** This implementation's result against the first one's (ours). */
  relativeDifference: number;
}

/**
 * Runs every case (all of CASES unless given) on every implementation, one after the other (never overlapping on
 * the GPU). With more than one implementation, each result is computed once and compared with the first one's.
 */
export async function runCases(
  impls: readonly Implementation[],
  log: (line: string) => void,
  cases: readonly BenchCase[] = CASES,
): Promise<{ rows: Row[]; checks: Check[] }> {
  const rows: Row[] = [];
  const checks: Check[] = [];
  for (const c of cases) {
    let reference: Float32Array | null = null;
    for (const impl of impls) {
      const prepared = c.prepare(impl);
      try {
        if (impls.length > 1) {
          const result = await prepared.result();
          if (reference) checks.push({ op: c.op, shape: c.shape, impl: impl.name, relativeDifference: relativeDifference(result, reference) });
          else reference = result;
        }
        const { medianMs, reps } = await timeMedian(() => prepared.rep(), c.budget);
        const gflops = c.flops / (medianMs * 1e6);
        const row: Row = { op: c.op, shape: c.shape, impl: impl.name, median_ms: significant(medianMs), gflops: significant(gflops) };
        rows.push(row);
        log(`${c.op} ${c.shape} ${impl.name}: median ${row.median_ms} ms over ${reps} reps, ${row.gflops} GFLOP/s`);
      } finally {
        prepared.dispose();
      }
    }
  }
  return { rows, checks };
}

/** Four significant digits: more than the run-to-run noise of these timings. */
export const significant = (x: number): number => Number(x.toPrecision(4));

/** Four significant digits, without exponents. */
export const figure = (x: number): string => (x >= 1000 ? x.toFixed(0) : x.toPrecision(4));

/** One line per product: median ms and GFLOP/s per implementation, and each peer's time / our time. */
export function formatTable(rows: readonly Row[]): string {
  const impls = [...new Set(rows.map((r) => r.impl))];
  const peers = impls.includes('cosmos-web') ? impls.filter((i) => i !== 'cosmos-web') : [];
  const header = ['op', 'shape', ...impls.flatMap((i) => [`${i} ms`, `${i} GFLOP/s`]), ...peers.map((p) => `${p}/ours`)];
  const lines: string[][] = [header];
  const products = [...new Map(rows.map((r) => [`${r.op} ${r.shape}`, r])).values()];
  for (const { op, shape } of products) {
    const of = (impl: ImplName) => rows.find((r) => r.op === op && r.shape === shape && r.impl === impl);
    const cells = [op, shape];
    for (const impl of impls) {
      const r = of(impl);
      cells.push(r ? figure(r.median_ms) : '-', r ? figure(r.gflops) : '-');
    }
    const ours = of('cosmos-web');
    for (const peer of peers) {
      const theirs = of(peer);
      cells.push(ours && theirs ? figure(theirs.median_ms / ours.median_ms) : '-');
    }
    lines.push(cells);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
  return lines.map((l) => l.map((cell, i) => (i < 2 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}
