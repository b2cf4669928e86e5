/**
 * LayerNorm over the last axis (shaders/layernorm.wgsl), as PyTorch's nn.LayerNorm: biased variance, eps inside
 * the square root. The forward saves each row's mean (as two floats) and 1/std; the backward has its own kernels
 * for the input gradient (per row) and the weight and bias gradients (column sums over the rows).
 */
import source from '../../../shaders/layernorm.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { type HeldGradients, record } from '../tape.ts';
import { Tensor, assertShape, zeros } from '../tensor.ts';
import { sumRows } from './reduce.ts';
import { concat, lastAxisRows, slice } from './shape.ts';
import { cpuStyleKernels, rowGroup } from './workgroups.ts';

const LAYERNORM = shader('layernorm.wgsl', source);
/** Columns per workgroup of backward_params. */
const COLUMN_WG = 64;
/** Rows per workgroup of the one-row-per-invocation entries. */
const ROWS_WG = 64;
/** Rows one backward_params invocation sums; more when the chunk count would pass the grid limit. */
const ROWS_PER_CHUNK = 64;
const MAX_WORKGROUPS_PER_DIMENSION = 65535;

type Entry = 'forward' | 'backward_input' | 'backward_params' | 'forward_rows' | 'backward_input_rows' | 'backward_params4' | 'backward_rows';
/** backward_rows: rows per invocation (and per chunk of its partial sums), and the widest row it takes. */
const LANE_ROWS = 8;
const LANE_COLS = 128;
type RowEntry = 'forward' | 'backward_input';

interface RowShape {
  rows: number;
  cols: number;
}

function run(entry: Entry, tensors: Tensor[], { rows, cols }: RowShape, workgroups: [number, number], eps = 0, rowsPerChunk = 0, addend?: boolean): void {
  const constants = { GROUP: rowGroup(), ...(addend === undefined ? {} : { ADDEND: Number(addend) }) };
  gpu().dispatch({
    kernel: { shader: LAYERNORM, entry, constants },
    buffers: tensors.map((t) => t.range),
    params: params(rows, cols, f32(eps), rowsPerChunk),
    workgroups,
  });
}

/** On CPU-shaped kernels, rows of whole vec4s go one (or LANE_ROWS) per invocation: the *_rows entries. */
const rowsPerInvocation = ({ cols }: RowShape): boolean => cpuStyleKernels() && cols % 4 === 0;

/** A row kernel: one row per invocation where rowsPerInvocation; otherwise each row gets a workgroup. */
function runRows(entry: RowEntry, tensors: Tensor[], shape: RowShape, eps = 0, addend?: boolean): void {
  if (rowsPerInvocation(shape)) {
    run(`${entry}_rows`, tensors, shape, grid1d(Math.ceil(shape.rows / ROWS_WG)), eps, 0, addend);
  } else {
    run(entry, tensors, shape, grid1d(shape.rows), eps, 0, addend);
  }
}

export function layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps = 1e-5): Tensor {
  const shape = lastAxisRows(x, 'layerNorm');
  assertShape(weight, [shape.cols], 'layerNorm weight');
  assertShape(bias, [shape.cols], 'layerNorm bias');
  const y = new Tensor(x.shape);
  const mean = new Tensor([shape.rows, 2]); // (m0, m1) per row, mean = m0 + m1: see layernorm.wgsl
  const rstd = new Tensor([shape.rows]);
  runRows('forward', [x, mean, rstd, bias, weight, y], shape, eps);
  return record(
    'layerNorm',
    [x, weight, bias],
    y,
    (g, needs, held) => {
      if (needs[0] && (needs[1] || needs[2]) && rowsPerInvocation(shape) && shape.cols <= LANE_COLS) {
        return allGradsInOnePass(x, mean, rstd, g, weight, shape, needs[1]!, needs[2]!, held);
      }
      const dx = needs[0] ? inputGrad(x, mean, rstd, g, weight, shape, held.take(0)) : null;
      const [dweight, dbias] = needs[1] || needs[2] ? paramGrads(x, mean, rstd, g, shape, needs[1]!, needs[2]!, held) : [null, null];
      return [dx, dweight, dbias];
    },
    [mean, rstd],
  );
}

/** The input's gradient, plus `held` (the one it already holds) when given. */
function inputGrad(x: Tensor, mean: Tensor, rstd: Tensor, g: Tensor, weight: Tensor, shape: RowShape, held: Tensor | null): Tensor {
  const dx = new Tensor(x.shape);
  runRows('backward_input', [x, mean, rstd, g, weight, dx, held ?? g], shape, 0, held !== null);
  return dx;
}

/**
 * Weight and bias gradients: per-chunk column sums on the GPU (four columns per invocation for rows of whole
 * vec4s) into one [chunks, 2, cols] tensor, then one sumRows over the chunks for both, which also adds the
 * gradients the weight and bias already hold; the two rows of the result are copied out.
 */
function paramGrads(
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  g: Tensor,
  shape: RowShape,
  needWeight: boolean,
  needBias: boolean,
  held: HeldGradients,
): [Tensor | null, Tensor | null] {
  const rowsPerChunk = Math.max(ROWS_PER_CHUNK, Math.ceil(shape.rows / MAX_WORKGROUPS_PER_DIMENSION));
  const chunks = Math.ceil(shape.rows / rowsPerChunk);
  const part = new Tensor([chunks, 2 * shape.cols]);
  const tensors = [x, mean, rstd, g, part];
  if (shape.cols % 4 === 0) {
    run('backward_params4', tensors, shape, grid1d(Math.ceil((chunks * shape.cols) / 4 / COLUMN_WG)), 0, rowsPerChunk);
  } else {
    run('backward_params', tensors, shape, [Math.ceil(shape.cols / COLUMN_WG), chunks], 0, rowsPerChunk);
  }
  return sumChunks(part, shape, needWeight, needBias, held);
}

/**
 * On a CPU adapter, rows of whole vec4s up to LANE_COLS wide: the input, weight and bias gradients in one pass
 * (backward_rows), which reads grad and x once for all three; its per-chunk sums are then finished as paramGrads'.
 */
function allGradsInOnePass(
  x: Tensor,
  mean: Tensor,
  rstd: Tensor,
  g: Tensor,
  weight: Tensor,
  shape: RowShape,
  needWeight: boolean,
  needBias: boolean,
  held: HeldGradients,
): [Tensor, Tensor | null, Tensor | null] {
  const chunks = Math.ceil(shape.rows / LANE_ROWS);
  const dx = new Tensor(x.shape);
  const part = new Tensor([chunks, 2 * shape.cols]);
  const heldInput = held.take(0);
  run('backward_rows', [x, mean, rstd, g, weight, dx, heldInput ?? g, part], shape, grid1d(Math.ceil(chunks / ROWS_WG)), 0, 0, heldInput !== null);
  return [dx, ...sumChunks(part, shape, needWeight, needBias, held)];
}

/**
 * The weight and bias gradients from per-chunk partial sums part [chunks, 2 * cols] (weight's, then bias' of each
 * chunk): one sumRows over the chunks for both, which also adds the gradients the two already hold; the two rows
 * of the result are copied out. Frees part.
 */
function sumChunks(part: Tensor, shape: RowShape, needWeight: boolean, needBias: boolean, held: HeldGradients): [Tensor | null, Tensor | null] {
  const heldWeight = needWeight ? held.take(1) : null;
  const heldBias = needBias ? held.take(2) : null;
  const plus = heldWeight || heldBias ? concat([heldWeight ?? zeros([shape.cols]), heldBias ?? zeros([shape.cols])], 0) : null;
  const both = sumRows(part, 2 * shape.cols, plus);
  part.dispose();
  const grads: [Tensor | null, Tensor | null] = [
    needWeight ? slice(both, 0, 0, shape.cols) : null,
    needBias ? slice(both, 0, shape.cols, 2 * shape.cols) : null,
  ];
  both.dispose();
  return grads;
}
