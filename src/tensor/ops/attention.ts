/**
 * Multi-head scaled dot-product attention (shaders/attention.wgsl), forward and backward, with the attention
 * weights available for display (the COSMOS heatmaps are the cross-attention poolers' weights, mean over heads).
 */
import source from '../../../shaders/attention.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, shapeString } from '../tensor.ts';

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

/**
 * softmax(q k^T / sqrt(D) [+ causal mask]) v per head. q: [B, Tq, E], k and v: [B, Tk, E], E = heads * D with
 * head h in columns h*D .. h*D+D-1 (nn.MultiheadAttention's layout after in_proj); out: [B, Tq, E], heads
 * concatenated the same way. The backward reads the probabilities saved by the forward.
 */
export function attention(q: Tensor, k: Tensor, v: Tensor, opts: AttentionOptions): AttentionOutput {
  const d = dims(q, k, v, opts);
  const scale = 1 / Math.sqrt(d.d4 * 4);
  const probs = dots(q, k, d, scale);
  run('softmax_rows', [probs.buffer], d, d.tq, d.tk, 1, probs.size / d.tk);
  const out = mix('mix_rows', probs, v, d, d.tq, d.tk, 1);
  const weights = attentionWeights(probs, d, opts.weights ?? 'none');

  record(
    'attention',
    [q, k, v],
    out,
    (gradOut, needs) => {
      const dScores = needs[0] || needs[1] ? softmaxGrad(probs, gradOut, v, d) : null;
      const grads = [
        needs[0] ? mix('mix_rows', dScores!, k, d, d.tq, d.tk, scale) : null,
        needs[1] ? mix('mix_cols', dScores!, q, d, d.tk, d.tq, scale) : null,
        needs[2] ? mix('mix_cols', probs, gradOut, d, d.tk, d.tq, 1) : null,
      ];
      dScores?.dispose(); // scratch: the dispatches that read it are already recorded
      return grads;
    },
    // Freed by record when nothing will run backward (a per-head weights view keeps its storage).
    [probs],
  );
  return { out, weights };
}

/**
 * The fused attention in two tape steps, for a caller that differentiates the probabilities themselves (relevance,
 * which reads their gradient): P = softmax(q k^T / sqrt(D) [+ causal mask]) per head, [B, heads, Tq, Tk], masked
 * entries exactly 0. Then attendWith(P, v) is attention's output.
 */
export function attentionProbabilities(q: Tensor, k: Tensor, opts: Omit<AttentionOptions, 'weights'>): Tensor {
  const d = dims(q, k, k, opts);
  const scale = 1 / Math.sqrt(d.d4 * 4);
  const probs = dots(q, k, d, scale);
  run('softmax_rows', [probs.buffer], d, d.tq, d.tk, 1, probs.size / d.tk);
  return record('attentionProbabilities', [q, k], probs, (gradProbs, needs) => {
    // softmax_grad works in place: on a copy, since the probabilities' gradient is itself what a caller reads.
    const dScores = new Tensor(probs.shape);
    gpu().copy(gradProbs.buffer, 0, dScores.buffer, 0, dScores.byteSize);
    run('softmax_grad', [probs.buffer, dScores.buffer], d, d.tq, d.tk, 1, probs.size / d.tk);
    const grads = [needs[0] ? mix('mix_rows', dScores, k, d, d.tq, d.tk, scale) : null, needs[1] ? mix('mix_cols', dScores, q, d, d.tk, d.tq, scale) : null];
    dScores.dispose(); // scratch: the dispatches that read it are already recorded
    return grads;
  });
}

/** probs v per head: probs [B, heads, Tq, Tk] (attentionProbabilities'), v [B, Tk, E]; out [B, Tq, E]. */
export function attendWith(probs: Tensor, v: Tensor, opts: Omit<AttentionOptions, 'weights'>): Tensor {
  const [batch, heads, tq, tk] = probs.shape as [number, number, number, number];
  if (probs.shape.length !== 4 || heads !== opts.heads) {
    throw new Error(`attendWith: probabilities ${shapeString(probs.shape)} are not [batch, ${opts.heads} heads, queries, keys]`);
  }
  const d = dims({ shape: [batch, tq, v.shape[2] ?? 0], dtype: 'f32' }, v, v, opts);
  if (d.tk !== tk) throw new Error(`attendWith: ${tk} keys in the probabilities, ${d.tk} in v ${shapeString(v.shape)}`);
  const out = mix('mix_rows', probs, v, d, d.tq, d.tk, 1);
  return record('attendWith', [probs, v], out, (gradOut, needs) => [
    // Every entry of dP = dO v^T, masked ones too (where P is 0), as PyTorch's gradient has them.
    needs[0] ? dots(gradOut, v, { ...d, causal: false }, 1) : null,
    needs[1] ? mix('mix_cols', probs, gradOut, d, d.tk, d.tq, 1) : null,
  ]);
}

function attentionWeights(probs: Tensor, d: Dims, kind: 'none' | 'mean' | 'per-head'): Tensor | null {
  if (kind === 'none') return null;
  if (kind === 'per-head') return new Tensor(probs.shape, 'f32', probs);
  const mean = new Tensor([d.batch, d.tq, d.tk]);
  run('head_mean', [probs.buffer, mean.buffer], d, d.tq, d.tk, 1, mean.size);
  return mean;
}

/** dS = P * (dP - rowsum(dP * P)) with dP = dO v^T: the gradient of the scaled scores, [B, heads, Tq, Tk]. */
function softmaxGrad(probs: Tensor, gradOut: Tensor, v: Tensor, d: Dims): Tensor {
  const dScores = dots(gradOut, v, d, 1);
  run('softmax_grad', [probs.buffer, dScores.buffer], d, d.tq, d.tk, 1, probs.size / d.tk);
  return dScores;
}

/** scale * <a row i, b row j> per head, [B, heads, Tq, Tk]; entries under the causal mask are left unwritten. */
function dots(a: Tensor, b: Tensor, d: Dims, scale: number): Tensor {
  const out = new Tensor([d.batch, d.heads, d.tq, d.tk]);
  const tiles = d.batch * d.heads * Math.ceil(d.tq / DOT_TILE.rows) * Math.ceil(d.tk / DOT_TILE.cols);
  run('dots', [a.buffer, b.buffer, out.buffer], d, d.tq, d.tk, scale, tiles);
  return out;
}

/**
 * y[b, r, head h] = scale * sum over c of w[b, h, r, c] x[b, c, head h] ('mix_rows'), or of w[b, h, c, r]
 * ('mix_cols'); x: [B, cols, E], y: [B, rows, E].
 */
function mix(entry: 'mix_rows' | 'mix_cols', w: Tensor, x: Tensor, d: Dims, rows: number, cols: number, scale: number): Tensor {
  const y = new Tensor([d.batch, rows, d.heads * d.d4 * 4]);
  const tiles = d.batch * d.heads * Math.ceil(rows / MIX_TILE.rows) * Math.ceil(d.d4 / MIX_TILE.vec4s);
  run(entry, [w.buffer, x.buffer, y.buffer], d, rows, cols, scale, tiles);
  return y;
}

function run(entry: Entry, buffers: GPUBuffer[], d: Dims, rows: number, cols: number, scale: number, invocations: number): void {
  gpu().dispatch({
    kernel: { shader: ATTENTION, entry, constants: entry === 'head_mean' ? undefined : { D4: d.d4 } },
    buffers,
    params: params(d.batch, d.heads, rows, cols, d.causal ? 1 : 0, f32(scale)),
    workgroups: grid1d(Math.ceil(invocations / WG)),
  });
}

/** Only the shapes and dtypes are read: attendWith passes the shape of the queries it never sees. */
type Shaped = Pick<Tensor, 'shape' | 'dtype'>;

function dims(q: Shaped, k: Shaped, v: Shaped, opts: AttentionOptions): Dims {
  const fail = (why: string): never => {
    throw new Error(`attention: ${why} (q ${shapeString(q.shape)}, k ${shapeString(k.shape)}, v ${shapeString(v.shape)}, ${opts.heads} heads)`);
  };
  if (q.shape.length !== 3 || k.shape.length !== 3 || v.shape.length !== 3) fail('q, k and v must be [batch, tokens, width]');
  if ([q, k, v].some((t) => t.dtype !== 'f32')) fail('q, k and v must be f32');
  const [batch, tq, e] = q.shape as [number, number, number];
  const tk = k.shape[1]!;
  if (k.shape[0] !== batch || k.shape[2] !== e || v.shape.some((n, i) => n !== k.shape[i])) {
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
