/**
 * Matrix products (shaders/matmul.wgsl): batched matmul with either operand transposed and a fused bias, and
 * `linear` (PyTorch's F.linear) on top of it. The backward products run on the same kernel with other
 * transpose flags. CPU adapters with subgroups run shaders/matmul_subgroups.wgsl instead, and products with
 * too few tiles to fill the device split K over workgroups.
 */
import source from '../../../shaders/matmul.wgsl';
import subgroupSource from '../../../shaders/matmul_subgroups.wgsl';
import { type ShaderSource, shader } from '../../gpu/kernel.ts';
import { gpu, noGrad } from '../engine.ts';
import { addFlops } from '../flops.ts';
import { params } from '../params.ts';
import { record } from '../tape.ts';
import { type Shape, Tensor, assertShape, numel, shapeString } from '../tensor.ts';
import { sum, sumRows } from './reduce.ts';
import { reshape } from './shape.ts';

/** Outputs per invocation (TM x TN) and invocations per workgroup (WG_X x WG_Y), as in shaders/matmul.wgsl. */
const TILE_M = 8;
const TILE_N = 16;
const WG_X = 8;
const WG_Y = 8;

/** One way to run a product: its entry points and the tile of C each workgroup computes. */
interface Kernel {
  readonly shader: ShaderSource;
  readonly entry: string;
  readonly biasEntry: string;
  /** C and op(A)'s row sums (ROW_SUMS in shaders/matmul.wgsl). */
  readonly rowSumsEntry: string;
  readonly tileM: number;
  readonly tileN: number;
  /** Below this many workgroups, K is split to make more. */
  readonly fill: number;
}

const TILED: Kernel = {
  shader: shader('matmul.wgsl', source),
  entry: 'matmul',
  biasEntry: 'matmul_bias',
  rowSumsEntry: 'matmul_row_sums',
  tileM: TILE_M * WG_Y,
  tileN: TILE_N * WG_X,
  fill: 64,
};

/**
 * The subgroup kernel for subgroups of `lanes` (4 or 8), each lane `cols` (16 or 8) columns wide: its tile is 64 x
 * lanes·cols. `enable` must open the module, so it is a module of its own with the shared helpers. SwiftShader runs a
 * dispatch as at most 16 tasks, whatever the core count: 16 workgroups fill it.
 */
function subgroupKernel(lanes: 4 | 8, cols: 8 | 16): Kernel {
  return {
    shader: shader(
      `matmul.wgsl + matmul_subgroups.wgsl, ${lanes} lanes x ${cols} columns`,
      `enable subgroups;\nconst SG_LANES = ${lanes}u;\nconst SG_COLS = ${cols}u;\n${source}\n${subgroupSource}`,
    ),
    entry: 'matmul_sg',
    biasEntry: 'matmul_sg_bias',
    rowSumsEntry: 'matmul_sg_row_sums',
    tileM: 64,
    tileN: lanes * cols,
    fill: 16,
  };
}

const SUBGROUP_KERNELS = {
  fourLanes: subgroupKernel(4, 16),
  eightLanes: subgroupKernel(8, 16),
  eightLanesNarrow: subgroupKernel(8, 8),
};

/**
 * From this many columns on, an 8-lane adapter takes the 128-wide tile; narrower products the 64-wide one, which
 * leaves fewer of its columns empty. Measured on lavapipe (interleaved, medians of 6): N = 64 products 1.09-1.20x
 * faster on 8 lanes x 8 columns than on 4 x 16, N = 192 1.16x faster than on 8 x 16; from 256 on, 8 x 16 is faster
 * (1.14x at 256, 1.3-1.4x at 512³ and 1024³).
 */
const WIDE_TILE_MIN_N = 256;

/** Each range of a split K is at least this long, so its partial sums are worth writing and adding. */
const MIN_K_SPLIT = 256;

/**
 * CPU adapters read memory lane by lane: the subgroup kernel reads less (the adapter's choice,
 * src/gpu/kernelChoice.ts). Where a subgroup has 8 lanes (lavapipe), the 8-lane kernels fill its SIMD registers.
 */
function kernelFor(N: number): Kernel {
  const runtime = gpu();
  if (runtime.kernels.matmul !== 'subgroups') return TILED;
  if (runtime.adapter.subgroupMinSize < 8) return SUBGROUP_KERNELS.fourLanes;
  return N >= WIDE_TILE_MIN_N ? SUBGROUP_KERNELS.eightLanes : SUBGROUP_KERNELS.eightLanesNarrow;
}

/** Ranges of K per batch item and their length (a multiple of 4): one range unless the tiles are too few. */
function splitK(d: Dims, k: Kernel, batch: number, given?: number): { slices: number; kSplit: number } {
  const workgroups = Math.ceil(d.M / k.tileM) * Math.ceil(d.N / k.tileN) * batch;
  const wanted = Math.max(1, Math.min(Math.ceil(k.fill / workgroups), Math.floor(d.K / MIN_K_SPLIT)));
  const kSplit = Math.max(4, Math.ceil((given ?? d.K / wanted) / 4) * 4);
  return { slices: Math.max(1, Math.ceil(d.K / kSplit)), kSplit };
}

export interface MatmulOptions {
  /** a holds [..., K, M]: the product uses its transpose. */
  transA?: boolean;
  /** b holds [..., N, K]: the product uses its transpose. */
  transB?: boolean;
  /** [N], added to every row of the output. */
  bias?: Tensor;
  /**
   * [...batch, M, N], added to the output as it is stored (with a split K, as the partial sums are added up): a
   * residual stream, or in backward the gradient an operand already holds, without an add of its own.
   */
  addend?: Tensor | null;
  /**
   * The length of the K ranges whose partial sums are added up (rounded up to a multiple of 4), for this product and
   * its gradients'; by default K is split only where the output's tiles are too few to fill the adapter.
   */
  kSplit?: number;
}

/** Sizes of op(a) [...batch, M, K] times op(b) [...batch, K, N]. */
interface Dims {
  batch: Shape;
  M: number;
  N: number;
  K: number;
}

function dims(a: Tensor, b: Tensor, transA: boolean, transB: boolean): Dims {
  const what = () => `matmul: ${shapeString(a.shape)}${transA ? 'ᵀ' : ''} x ${shapeString(b.shape)}${transB ? 'ᵀ' : ''}`;
  if (a.shape.length < 2 || b.shape.length < 2) throw new Error(`${what()}: both operands need at least two axes`);
  if (a.dtype !== 'f32' || b.dtype !== 'f32') throw new Error(`${what()}: operands must be f32`);
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const [M, K] = transA ? [ac, ar] : [ar, ac];
  const [Kb, N] = transB ? [bc, br] : [br, bc];
  if (K !== Kb) throw new Error(`${what()}: inner sizes ${K} and ${Kb} differ`);
  const aBatch = a.shape.slice(0, -2);
  const bBatch = b.shape.slice(0, -2);
  if (aBatch.length > 0 && bBatch.length > 0 && shapeString(aBatch) !== shapeString(bBatch)) {
    throw new Error(`${what()}: batch shapes differ`);
  }
  return { batch: aBatch.length > 0 ? aBatch : bBatch, M, N, K };
}

/**
 * op(a) op(b) (+ bias): a is [...batch, M, K] ([...batch, K, M] with transA), b is [...batch, K, N]
 * ([...batch, N, K] with transB); either may instead be 2-D and shared by the whole batch. Returns [...batch, M, N].
 */
export function matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
  const { transA = false, transB = false, bias, kSplit, addend } = opts;
  const d = dims(a, b, transA, transB);
  if (bias) assertShape(bias, [d.N], 'matmul bias');
  if (addend && addend.size !== numel(d.batch) * d.M * d.N) {
    throw new Error(`matmul: an addend ${shapeString(addend.shape)} for a product of ${shapeString([...d.batch, d.M, d.N])}`);
  }
  if (d.batch.length > 0 && b.shape.length === 2 && !transA) {
    // A weight shared by every row of a batch: one [batch * M, K] product, whose dB sums over the batch by itself.
    const rows = reshape(a, [numel(d.batch) * d.M, d.K]);
    const flatAddend = addend ? reshape(addend, [numel(d.batch) * d.M, d.N]) : null;
    return reshape(matmul(rows, b, { ...opts, addend: flatAddend }), [...d.batch, d.M, d.N]);
  }
  const { out } = product(a, b, d, { transA, transB, bias, kSplit, addend });
  const shared = (t: Tensor) => t.shape.length === 2 && d.batch.length > 0;
  const inputs = [a, b, ...(bias ? [bias] : []), ...(addend ? [addend] : [])];
  return record('matmul', inputs, out, (g, needs, held) => {
    const dA = needs[0] ? operandGrad(held.take(0), shared(a), (plus) => gradA(g, b, transA, transB, kSplit, plus)) : null;
    // A linear layer's bias gradient comes out of its weight gradient's product (see weightAndBiasGrads).
    const together = bias && needs[1] && needs[2] && transB && d.batch.length === 0 && d.M % 4 === 0;
    const [dB, dBias] = together
      ? weightAndBiasGrads(g, a, transA, kSplit, held.take(1), held.take(2))
      : [
          needs[1] ? operandGrad(held.take(1), shared(b), (plus) => gradB(g, a, transA, transB, kSplit, plus)) : null,
          bias && needs[2] ? sumRows(g, d.N, held.take(2)) : null,
        ];
    return [dA, dB, ...(bias ? [dBias] : []), ...(addend ? [needs[inputs.length - 1] ? g : null] : [])];
  });
}

/**
 * A linear layer's weight and bias gradients (y = x Wᵀ + b, one batch item, rows a multiple of 4) from one product:
 * dW = dYᵀ x, and db = dY's column sums, which are the rows of dYᵀ summed as the product reads them (ROW_SUMS).
 * `heldW`, `heldB`: the gradients the two already hold, added in.
 */
function weightAndBiasGrads(g: Tensor, x: Tensor, transX: boolean, kSplit: number | undefined, heldW: Tensor | null, heldB: Tensor | null): [Tensor, Tensor] {
  const { out, rowSums } = product(g, x, dims(g, x, true, transX), { transA: true, transB: transX, kSplit, addend: heldW, rowSums: true });
  const [slices, n] = rowSums!.shape as [number, number];
  if (slices === 1 && !heldB) return [out, reshape(rowSums!, [n])];
  const db = sumRows(rowSums!, n, heldB);
  rowSums!.dispose();
  return [out, db];
}

/**
 * x [..., in] times weight [out, in] transposed, plus bias [out]: PyTorch's F.linear. Returns [..., out]; with
 * `residual` (of that shape), plus it, added as the product is stored.
 */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor, residual?: Tensor): Tensor {
  if (x.shape.length > 1) return matmul(x, weight, { transB: true, bias, addend: residual });
  const addend = residual && reshape(residual, [1, residual.size]);
  return reshape(matmul(reshape(x, [1, x.size]), weight, { transB: true, bias, addend }), [weight.shape[0]!]);
}

// With C = op(A) op(B): d op(A) = dC op(B)ᵀ and d op(B) = op(A)ᵀ dC; a transposed operand's gradient is the
// transpose of that, which the flags express without moving any data. `plus`: the gradient the operand holds.
function gradA(g: Tensor, b: Tensor, transA: boolean, transB: boolean, kSplit?: number, plus?: Tensor | null): Tensor {
  return transA ? matmul(b, g, { transA: transB, transB: true, kSplit, addend: plus }) : matmul(g, b, { transB: !transB, kSplit, addend: plus });
}

function gradB(g: Tensor, a: Tensor, transA: boolean, transB: boolean, kSplit?: number, plus?: Tensor | null): Tensor {
  return transB ? matmul(g, a, { transA: true, transB: transA, kSplit, addend: plus }) : matmul(a, g, { transA: !transA, kSplit, addend: plus });
}

/**
 * An operand's gradient plus `held`, the one it already holds. A 2-D operand shared by a batch gets the sum of its
 * per-item gradients, which adds `held` as it stores; otherwise the product adds it.
 */
function operandGrad(held: Tensor | null, shared: boolean, grad: (plus: Tensor | null) => Tensor): Tensor {
  if (!shared) return grad(held);
  const g = grad(null);
  const [rows, cols] = g.shape.slice(-2) as [number, number];
  return sum(reshape(g, [g.size / (rows * cols), rows, cols]), 0, false, held);
}

interface ProductOptions extends MatmulOptions {
  transA: boolean;
  transB: boolean;
  /** Also op(a)'s rows summed over K, [slices, M] (no bias, one batch item, K a multiple of 4). */
  rowSums?: boolean;
}

/** [...batch, M, N] = op(a) op(b) (+ bias) (+ addend), recorded on no tape; with `rowSums`, those too. */
function product(
  a: Tensor,
  b: Tensor,
  d: Dims,
  { transA, transB, bias, kSplit: given, addend, rowSums: withRowSums }: ProductOptions,
): { out: Tensor; rowSums: Tensor | null } {
  if (withRowSums && (bias || d.batch.length > 0 || d.K % 4 !== 0)) throw new Error('matmul: row sums need one batch item, no bias and K a multiple of 4');
  const k = kernelFor(d.N);
  const batch = numel(d.batch);
  const { slices, kSplit } = splitK(d, k, batch, given);
  const workgroups: [number, number, number] = [Math.ceil(d.N / k.tileN), Math.ceil(d.M / k.tileM), batch * slices];
  const limit = gpu().limits.maxComputeWorkgroupsPerDimension;
  if (workgroups.some((n) => n > limit)) {
    throw new Error(`matmul: [${workgroups}] workgroups for ${shapeString([...d.batch, d.M, d.N])} pass this adapter's limit of ${limit} per dimension`);
  }
  // A split K writes each range's partial sums, [...batch, slices, M, N], then adds them up (and the addend).
  const out = new Tensor(slices > 1 ? [...d.batch, slices, d.M, d.N] : [...d.batch, d.M, d.N]);
  const addInKernel = addend && slices === 1;
  const rowSums = withRowSums ? new Tensor([slices, d.M]) : null;
  gpu().dispatch({
    kernel: {
      shader: k.shader,
      entry: bias ? k.biasEntry : rowSums ? k.rowSumsEntry : k.entry,
      constants: {
        TRANS_A: Number(transA),
        TRANS_B: Number(transB),
        // Each operand is read with vec4 loads when its contiguous axis is a multiple of 4.
        A_VEC4: Number((transA ? d.M : d.K) % 4 === 0),
        B_VEC4: Number((transB ? d.K : d.N) % 4 === 0),
        K_TAIL: Number(d.K % 4 !== 0),
        ADDEND: Number(!!addInKernel),
        ROW_SUMS: Number(!!rowSums),
      },
    },
    buffers: [a.range, b.range, out.range, (addInKernel ? addend : a).range, ...(bias ? [bias.range] : rowSums ? [rowSums.range] : [])],
    params: params(d.M, d.N, d.K, a.shape.length > 2 ? d.M * d.K : 0, b.shape.length > 2 ? d.K * d.N : 0, slices, kSplit),
    workgroups,
  });
  addFlops(2 * batch * d.M * d.N * d.K);
  if (slices === 1) return { out, rowSums };
  // The caller records the product, addend included.
  return noGrad(() => {
    const sums = sum(out, d.batch.length, false, addend ? reshape(addend, [...d.batch, d.M, d.N]) : null);
    out.dispose();
    return { out: sums, rowSums };
  });
}
