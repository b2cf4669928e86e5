/**
 * Embeddings (shaders/embedding.wgsl): the token table lookup, whose backward scatter-adds rows without float
 * atomics (the host groups the positions of each id), and the patch embedding's im2col, which turns the vision
 * tower's conv (kernel = stride = patch, no bias) into a matmul.
 */
import type { BufferRange } from '../../gpu/runtime.ts';
import source from '../../../shaders/embedding.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { engine, gpu } from '../engine.ts';
import { params } from '../params.ts';
import { needsGrad, record } from '../tape.ts';
import { Tensor, fromArray, shapeString, zeros } from '../tensor.ts';
import { reshape } from './shape.ts';

const EMBEDDING = shader('embedding.wgsl', source);
const WG = 64;

function run(entry: string, buffers: BufferRange[], uniforms: Uint32Array, invocations: number, constants?: Record<string, number>): void {
  gpu().dispatch({
    kernel: { shader: EMBEDDING, entry, constants },
    buffers,
    params: uniforms,
    workgroups: grid1d(Math.ceil(invocations / WG)),
  });
}

/**
 * Rows of `table` [V, D] picked by the i32 `ids` [N...] -> [...ids.shape, D]. `hostIds` (the same ids, from
 * the tokenizer) are checked against V, and are required when the table needs a gradient: the backward
 * groups the positions of each id on the host.
 */
export function embedding(ids: Tensor, table: Tensor, hostIds?: Int32Array): Tensor {
  if (ids.dtype !== 'i32') throw new Error(`embedding: ids must be i32, got ${ids.dtype}`);
  if (table.shape.length !== 2 || table.dtype !== 'f32' || table.size === 0) {
    throw new Error(`embedding: the table must be a non-empty f32 [rows, dim], got ${shapeString(table.shape)}`);
  }
  const [rows, dim] = table.shape as [number, number];
  if (hostIds) checkIds(hostIds, ids.size, rows);
  const wantsGrad = engine.gradEnabled && needsGrad(table);
  if (wantsGrad && !hostIds) {
    throw new Error('embedding: the table needs a gradient, so pass the ids on the host too (hostIds)');
  }
  const out = new Tensor([...ids.shape, dim]);
  const chunks = Math.ceil(dim / 4);
  const entry = dim % 4 === 0 ? 'embedding_forward4' : 'embedding_forward';
  run(entry, [ids.range, table.range, out.range], params(ids.size, dim, rows), ids.size * chunks);
  // A copy: the caller may reuse its array before backward runs.
  const positions = wantsGrad ? Int32Array.from(hostIds!) : null;
  return record('embedding', [ids, table], out, (g, needs, held) => [null, needs[1] ? scatterRows(g, positions!, rows, dim, held.takeInPlace(1)) : null]);
}

/** Rows of `x` [n, ...rest] picked by `rows` (repeats allowed): a gather, as an embedding lookup into x. */
export function gatherRows(x: Tensor, rows: Int32Array): Tensor {
  const [n, ...rest] = x.shape;
  const width = rest.reduce((a, b) => a * b, 1);
  const picked = embedding(fromArray(rows, [rows.length], 'i32'), reshape(x, [n!, width]), rows);
  return reshape(picked, [rows.length, ...rest]);
}

function checkIds(hostIds: Int32Array, count: number, rows: number): void {
  if (hostIds.length !== count) throw new Error(`embedding: ${hostIds.length} host ids for an ids tensor of ${count}`);
  hostIds.forEach((id, i) => {
    if (id < 0 || id >= rows) throw new Error(`embedding: id ${id} at position ${i} is outside the table's ${rows} rows`);
  });
}

/**
 * dTable [rows, dim]: each id's row is the sum of the gradient rows at its positions; other rows are zero. With
 * `into` (the table's gradient so far), the sums are added into it in place and it is returned.
 */
function scatterRows(g: Tensor, ids: Int32Array, rows: number, dim: number, into: Tensor | null): Tensor {
  const { grouped, distinct } = groupPositions(ids, rows);
  const groupedTensor = fromArray(grouped, [grouped.length], 'i32');
  const gradTable = into ?? zeros([rows, dim]);
  const buffers = [groupedTensor.range, g.range, gradTable.range];
  run('embedding_backward', buffers, params(distinct, dim), distinct * Math.ceil(dim / 4), { ACCUMULATE: Number(into !== null) });
  groupedTensor.dispose();
  return gradTable;
}

/**
 * A counting sort of the positions by id, as the backward kernel reads it: [distinct row ids, starts of each
 * id's run (distinct + 1), positions]. Positions stay ascending within a run, so the sums are reproducible.
 */
function groupPositions(ids: Int32Array, rows: number): { grouped: Int32Array; distinct: number } {
  const counts = new Int32Array(rows);
  for (const id of ids) counts[id]!++;
  let distinct = 0;
  for (const c of counts) if (c > 0) distinct++;
  const grouped = new Int32Array(2 * distinct + 1 + ids.length);
  const cursor = new Int32Array(rows);
  let k = 0;
  let start = 0;
  counts.forEach((c, row) => {
    if (c === 0) return;
    grouped[k] = row;
    grouped[distinct + k] = start;
    cursor[row] = start;
    start += c;
    k++;
  });
  grouped[2 * distinct] = start;
  const positions = 2 * distinct + 1;
  for (const [pos, id] of ids.entries()) grouped[positions + cursor[id]!++] = pos;
  return { grouped, distinct };
}

interface PatchGeometry {
  batch: number;
  channels: number;
  height: number;
  width: number;
  patch: number;
  gridH: number;
  gridW: number;
}

const patchParams = (count: number, g: PatchGeometry): Uint32Array => params(count, g.channels, g.height, g.width, g.patch, g.gridH, g.gridW);

/**
 * im2col of a conv with kernel = stride = `patch`: images [B, C, H, W] -> [B, (H/p)(W/p), C*p*p], patches
 * row-major over the grid, columns ordered (c, ky, kx). So `matmul(patches, weight.reshape([width, C*p*p]),
 * {transB: true})` is conv2d(images, weight, stride=p) flattened and transposed to [B, Np, width]. Like conv2d,
 * a size that is not a multiple of the patch leaves the last rows and columns out.
 */
export function patchify(images: Tensor, patch: number): Tensor {
  if (images.shape.length !== 4) {
    throw new Error(`patchify: images must be [B, C, H, W], got ${shapeString(images.shape)}`);
  }
  const [batch, channels, height, width] = images.shape as [number, number, number, number];
  if (!Number.isInteger(patch) || patch < 1 || patch > height || patch > width) {
    throw new Error(`patchify: patch ${patch} does not fit images ${shapeString(images.shape)}`);
  }
  const gridH = Math.floor(height / patch);
  const gridW = Math.floor(width / patch);
  return patchifyWith(images, { batch, channels, height, width, patch, gridH, gridW });
}

function patchifyWith(images: Tensor, g: PatchGeometry): Tensor {
  const out = new Tensor([g.batch, g.gridH * g.gridW, g.channels * g.patch * g.patch]);
  if (g.patch % 4 === 0 && g.width % 4 === 0) {
    run('patchify4', [images.range, out.range], patchParams(out.size / 4, g), out.size / 4);
  } else {
    run('patchify', [images.range, out.range], patchParams(out.size, g), Math.ceil(out.size / 4));
  }
  return record('patchify', [images], out, (grad) => [unpatchify(grad, g)]);
}

/** The inverse permutation (patches do not overlap), zero where no patch covers a pixel. */
function unpatchify(patches: Tensor, g: PatchGeometry): Tensor {
  const out = new Tensor([g.batch, g.channels, g.height, g.width]);
  run('unpatchify', [patches.range, out.range], patchParams(out.size, g), Math.ceil(out.size / 4));
  return record('unpatchify', [patches], out, (grad) => [patchifyWith(grad, g)]);
}
