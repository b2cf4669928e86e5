/**
 * Multi-head scaled dot-product attention (shaders/attention.wgsl), forward and backward, with the attention
 * weights available for display (the COSMOS heatmaps are the cross-attention poolers' weights, mean over heads).
 */
import type { BufferRange } from '../../gpu/runtime.ts';
import source from '../../../shaders/attention.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { addFlops } from '../flops.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { type Shape, Tensor, shapeString } from '../tensor.ts';

const ATTENTION = shader('attention.wgsl', source);
const WG = 64;
/** Register tiles of attention.wgsl: `dots` covers 4 rows x 8 columns, `mix_*` 4 rows x 4 vec4 of one head. */
const DOT_TILE = { rows: 4, cols: 8 };
const MIX_TILE = { rows: 4, vec4s: 4 };

export interface AttentionOptions {
  heads: number;
  /** Query i sees keys j <= i only (the CLIP text tower); needs as many queries as keys. */
  causal?: boolean;
  /** Softmax probabilities to return: averaged over heads [B, Tq, Tk], or per head [B, heads, Tq, Tk]. */
  weights?: 'none' | 'mean' | 'per-head';
}

export interface AttentionOutput {
  out: Tensor;
  /** Not differentiable: for display. */
  weights: Tensor | null;
}

interface Dims {
  batch: number;
  heads: number;
  tq: number;
  tk: number;
  /** Head dim / 4: the kernels' override constant. */
  d4: number;
  causal: boolean;
}

type Entry = 'dots' | 'softmax_rows' | 'softmax_grad' | 'mix_rows' | 'mix_cols' | 'head_mean';

/** A [B, T, E] operand of the kernels: `tensor`'s rows, or one column range of its wider rows (see attention.wgsl). */
interface Rows {
  tensor: Tensor;
  /** Row stride and first column, in vec4s. */
  stride: number;
  offset: number;
}

/** All of a [B, T, E] tensor. */
const whole = (t: Tensor, d: Dims): Rows => ({ tensor: t, stride: d.heads * d.d4, offset: 0 });
/** Third `i` (q, k, v) of the last axis of a packed [B, T, 3E] tensor. */
const third = (t: Tensor, i: number, d: Dims): Rows => ({ tensor: t, stride: 3 * d.heads * d.d4, offset: i * d.heads * d.d4 });

/**
 * softmax(q k^T / sqrt(D) [+ causal mask]) v per head. q: [B, Tq, E], k and v: [B, Tk, E], E = heads * D with
 * head h in columns h*D .. h*D+D-1 (nn.MultiheadAttention's layout after in_proj); out: [B, Tq, E], heads
 * concatenated the same way. The backward reads the probabilities saved by the forward.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionOutput {
  const d = dims(q.shape, k.shape, v.shape, [q, k, v], opts);
  const { out, weights, probs } = attend(whole(q, d), whole(k, d), whole(v, d), d, opts);
  record(
    'attention',
    [q, k, v],
    out,
    (gradOut, needs) => {
      const grads = [needs[0] ? new Tensor(q.shape) : null, needs[1] ? new Tensor(k.shape) : null, needs[2] ? new Tensor(v.shape) : null];
      const rows = (t: Tensor | null) => (t ? whole(t, d) : null);
      attendBackward(gradOut, probs, [whole(q, d), whole(k, d), whole(v, d)], grads.map(rows), d);
      return grads;
    },
    // Freed by record when nothing will run backward (a per-head weights view keeps its storage).
    [probs],
  );
  return { out, weights };
}

/**
 * Self-attention on in_proj's packed output: `attention` of the thirds q, k, v of the last axis of qkv
 * [B, T, 3E], read in place, with their gradients written into one [B, T, 3E] gradient: no slices, no joins.
 */
export function packedSelfAttention(qkv: Tensor, opts: AttentionOptions): AttentionOutput {
  const [batch, tokens, e3] = qkv.shape as [number, number, number];
  if (qkv.shape.length !== 3 || e3 % 3 !== 0) throw new Error(`packedSelfAttention: qkv ${shapeString(qkv.shape)} is not [batch, tokens, 3 * width]`);
  const shape = [batch, tokens, e3 / 3];
  const d = dims(shape, shape, shape, [qkv], opts);
  const [q, k, v] = [0, 1, 2].map((i) => third(qkv, i, d)) as [Rows, Rows, Rows];
  const { out, weights, probs } = attend(q, k, v, d, opts);
  record(
    'packedSelfAttention',
    [qkv],
    out,
    (gradOut) => {
      const grad = new Tensor(qkv.shape);
      attendBackward(
        gradOut,
        probs,
        [q, k, v],
        [0, 1, 2].map((i) => third(grad, i, d)),
        d,
      );
      return [grad];
    },
    [probs],
  );
  return { out, weights };
}

/** The forward kernels; `probs` is scratch the backward reads. */
function attend(q: Rows, k: Rows, v: Rows, d: Dims, opts: AttentionOptions): AttentionOutput & { probs: Tensor } {
  const probs = dots(q, k, d, scale(d));
  run('softmax_rows', [probs.range], d, d.tq, d.tk, 1, probs.size / d.tk);
  const out = new Tensor([d.batch, d.tq, d.heads * d.d4 * 4]);
  mix('mix_rows', probs, v, whole(out, d), d, d.tq, d.tk, 1);
  return { out, weights: attentionWeights(probs, d, opts.weights ?? 'none'), probs };
}

/** Writes dq, dk, dv (those not null) from the output's gradient and the saved probabilities. */
function attendBackward(gradOut: Tensor, probs: Tensor, [q, k, v]: readonly Rows[], [dq, dk, dv]: readonly (Rows | null)[], d: Dims): void {
  const dScores = dq || dk ? softmaxGrad(probs, gradOut, v!, d) : null;
  if (dq) mix('mix_rows', dScores!, k!, dq, d, d.tq, d.tk, scale(d));
  if (dk) mix('mix_cols', dScores!, q!, dk, d, d.tk, d.tq, scale(d));
  if (dv) mix('mix_cols', probs, whole(gradOut, d), dv, d, d.tk, d.tq, 1);
  dScores?.dispose(); // scratch: the dispatches that read it are already recorded
}

const scale = (d: Dims): number => 1 / Math.sqrt(d.d4 * 4);

/**
 * The fused attention in two tape steps, for a caller that differentiates the probabilities themselves (relevance,
 * which reads their gradient): P = softmax(q k^T / sqrt(D) [+ causal mask]) per head, [B, heads, Tq, Tk], masked
 * entries exactly 0. Then attendWith(P, v) is attention's output.
 */
export function attentionProbabilities(q: Tensor, k: Tensor, opts: Omit<AttentionOptions, 'weights'>): Tensor {
  const d = dims(q.shape, k.shape, k.shape, [q, k], opts);
  const probs = dots(whole(q, d), whole(k, d), d, scale(d));
  run('softmax_rows', [probs.range], d, d.tq, d.tk, 1, probs.size / d.tk);
  return record('attentionProbabilities', [q, k], probs, (gradProbs, needs) => {
    // softmax_grad works in place: on a copy, since the probabilities' gradient is itself what a caller reads.
    const dScores = new Tensor(probs.shape);
    gpu().copy(gradProbs.range, 0, dScores.range, 0, dScores.byteSize);
    run('softmax_grad', [probs.range, dScores.range], d, d.tq, d.tk, 1, probs.size / d.tk);
    const dq = needs[0] ? new Tensor(q.shape) : null;
    const dk = needs[1] ? new Tensor(k.shape) : null;
    if (dq) mix('mix_rows', dScores, whole(k, d), whole(dq, d), d, d.tq, d.tk, scale(d));
    if (dk) mix('mix_cols', dScores, whole(q, d), whole(dk, d), d, d.tk, d.tq, scale(d));
    dScores.dispose(); // scratch: the dispatches that read it are already recorded
    return [dq, dk];
  });
}

/** probs v per head: probs [B, heads, Tq, Tk] (attentionProbabilities'), v [B, Tk, E]; out [B, Tq, E]. */
export function attendWith(probs: Tensor, v: Tensor, opts: Omit<AttentionOptions, 'weights'>): Tensor {
  const [batch, heads, tq, tk] = probs.shape as [number, number, number, number];
  if (probs.shape.length !== 4 || heads !== opts.heads) {
    throw new Error(`attendWith: probabilities ${shapeString(probs.shape)} are not [batch, ${opts.heads} heads, queries, keys]`);
  }
  // Only the queries' shape is read: attendWith never sees them.
  const d = dims([batch, tq, v.shape[2] ?? 0], v.shape, v.shape, [v], opts);
  if (d.tk !== tk) throw new Error(`attendWith: ${tk} keys in the probabilities, ${d.tk} in v ${shapeString(v.shape)}`);
  const out = new Tensor([d.batch, d.tq, d.heads * d.d4 * 4]);
  mix('mix_rows', probs, whole(v, d), whole(out, d), d, d.tq, d.tk, 1);
  return record('attendWith', [probs, v], out, (gradOut, needs) => {
    // Every entry of dP = dO v^T, masked ones too (where P is 0), as PyTorch's gradient has them.
    const dProbs = needs[0] ? dots(whole(gradOut, d), whole(v, d), { ...d, causal: false }, 1) : null;
    const dv = needs[1] ? new Tensor(v.shape) : null;
    if (dv) mix('mix_cols', probs, whole(gradOut, d), whole(dv, d), d, d.tk, d.tq, 1);
    return [dProbs, dv];
  });
}

function attentionWeights(probs: Tensor, d: Dims, kind: 'none' | 'mean' | 'per-head'): Tensor | null {
  if (kind === 'none') return null;
  if (kind === 'per-head') return new Tensor(probs.shape, 'f32', probs);
  const mean = new Tensor([d.batch, d.tq, d.tk]);
  run('head_mean', [probs.range, mean.range], d, d.tq, d.tk, 1, mean.size);
  return mean;
}

/** dS = P * (dP - rowsum(dP * P)) with dP = dO v^T: the gradient of the scaled scores, [B, heads, Tq, Tk]. */
function softmaxGrad(probs: Tensor, gradOut: Tensor, v: Rows, d: Dims): Tensor {
  const dScores = dots(whole(gradOut, d), v, d, 1);
  run('softmax_grad', [probs.range, dScores.range], d, d.tq, d.tk, 1, probs.size / d.tk);
  return dScores;
}

/** scale * <a row i, b row j> per head, [B, heads, Tq, Tk]; entries under the causal mask are left unwritten. */
function dots(a: Rows, b: Rows, d: Dims, scale: number): Tensor {
  const out = new Tensor([d.batch, d.heads, d.tq, d.tk]);
  const tiles = d.batch * d.heads * Math.ceil(d.tq / DOT_TILE.rows) * Math.ceil(d.tk / DOT_TILE.cols);
  run('dots', [a.tensor.range, b.tensor.range, out.range], d, d.tq, d.tk, scale, tiles, [a, b]);
  addFlops(2 * d.batch * d.heads * d.tq * d.tk * d.d4 * 4);
  return out;
}

/**
 * y[b, r, head h] = scale * sum over c of w[b, h, r, c] x[b, c, head h] ('mix_rows'), or of w[b, h, c, r]
 * ('mix_cols'); x: [B, cols, E], y: [B, rows, E].
 */
function mix(entry: 'mix_rows' | 'mix_cols', w: Tensor, x: Rows, y: Rows, d: Dims, rows: number, cols: number, scale: number): void {
  const tiles = d.batch * d.heads * Math.ceil(rows / MIX_TILE.rows) * Math.ceil(d.d4 / MIX_TILE.vec4s);
  run(entry, [w.range, x.tensor.range, y.tensor.range], d, rows, cols, scale, tiles, [x, y]);
  addFlops(2 * d.batch * d.heads * rows * cols * d.d4 * 4);
}

/** `operands`: the layouts of lhs and rhs (dots) or x and y (mixes); the other kernels read none. */
function run(entry: Entry, buffers: BufferRange[], d: Dims, rows: number, cols: number, scale: number, invocations: number, operands: Rows[] = []): void {
  const layout = operands.flatMap((o) => [o.stride, o.offset]);
  gpu().dispatch({
    kernel: { shader: ATTENTION, entry, constants: entry === 'head_mean' ? undefined : { D4: d.d4 } },
    buffers,
    params: params(d.batch, d.heads, rows, cols, d.causal ? 1 : 0, f32(scale), ...layout, ...new Array<number>(4 - layout.length).fill(0)),
    workgroups: grid1d(Math.ceil(invocations / WG)),
  });
}

function dims(qShape: Shape, kShape: Shape, vShape: Shape, tensors: readonly Tensor[], opts: AttentionOptions): Dims {
  const fail = (why: string): never => {
    throw new Error(`attention: ${why} (q ${shapeString(qShape)}, k ${shapeString(kShape)}, v ${shapeString(vShape)}, ${opts.heads} heads)`);
  };
  if (qShape.length !== 3 || kShape.length !== 3 || vShape.length !== 3) fail('q, k and v must be [batch, tokens, width]');
  if (tensors.some((t) => t.dtype !== 'f32')) fail('q, k and v must be f32');
  const [batch, tq, e] = qShape as [number, number, number];
  const tk = kShape[1]!;
  if (kShape[0] !== batch || kShape[2] !== e || vShape.some((n, i) => n !== kShape[i])) {
    fail('k and v must be [batch, keys, width] with the batch and width of q');
  }
  if (batch === 0 || tq === 0 || tk === 0) fail('empty batch or sequence');
  const heads = opts.heads;
  if (!Number.isInteger(heads) || heads < 1 || e % heads !== 0) fail('the width must split evenly into heads');
  const headDim = e / heads;
  if (headDim % 4 !== 0) fail('the head dim must be a multiple of 4 (rows are read as vec4)');
  const causal = opts.causal ?? false;
  if (causal && tq !== tk) fail('a causal mask needs as many queries as keys');
  return { batch, heads, tq, tk, d4: headDim / 4, causal };
}
