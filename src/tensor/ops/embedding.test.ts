import { describe, expect, it } from 'vitest';
import { type FixtureCase, type FixtureTensor, expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { fromArray, parameter } from '../tensor.ts';
import { add } from './elementwise.ts';
import { embedding, patchify } from './embedding.ts';

setupTestGpu();

// A lookup and a permutation copy values: anything but bit-equality is a bug.
const EXACT = { rtol: 0, atol: 0 };
// Rows of the table gradient sum the few positions of one id; PyTorch may add them in another order (~1 ulp each).
const SUMMED = { rtol: 1e-6, atol: 1e-6 };
// The patchify fixtures hold multiples of 1/16 (images, upstream gradient) and 1/64 (weights): their products are
// multiples of 1/1024 and every sum stays far below 2^24 / 1024, so f32 sums are exact in any order.
const EXACT_SUMS = { rtol: 0, atol: 0 };

const cases = loadFixture('embedding');

/** a [rows, k] x b [cols, k]^T on the host. */
function matmulTransB(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number, k: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      let acc = 0;
      for (let i = 0; i < k; i++) acc += a[r * k + i]! * b[c * k + i]!;
      out[r * cols + c] = acc;
    }
  }
  return out;
}

/** a [rows, k] x b [k, cols] on the host. */
function matmul(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, k: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < k; i++) {
      for (let c = 0; c < cols; c++) out[r * cols + c]! += a[r * k + i]! * b[i * cols + c]!;
    }
  }
  return out;
}

const tensorOf = (c: FixtureCase, name: string): FixtureTensor => c.tensors[name]!;

/** The table gradient of several lookups on the host: each position's gradient row added into its id's row. */
function scatterSums(lookups: Int32Array[], grads: Float32Array[], rows: number, dim: number): Float64Array {
  const sums = new Float64Array(rows * dim);
  for (const [k, ids] of lookups.entries()) {
    for (const [pos, id] of ids.entries()) {
      for (let d = 0; d < dim; d++) sums[id * dim + d]! += grads[k]![pos * dim + d]!;
    }
  }
  return sums;
}

describe('embedding against PyTorch', () => {
  for (const c of cases.filter((k) => k.attrs.op === 'embedding')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const hostIds = Int32Array.from(tensorOf(c, 'ids').data);
        const ids = fixtureTensor(c, 'ids', { dtype: 'i32' });
        const table = fixtureTensor(c, 'table', { requiresGrad: true });
        const out = embedding(ids, table, hostIds);
        await expectTensorClose(out, tensorOf(c, 'out'), EXACT, 'forward');
        backward(out, fixtureTensor(c, 'grad_out'));
        await expectTensorClose(table.grad!, tensorOf(c, 'grad_table'), SUMMED, 'grad table');
        table.dispose();
      });
    });
  }

  it("adds a second lookup's gradient into the table's gradient in place, as torch accumulates it", async () => {
    const [rows, dim] = [7, 6];
    const values = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(seed * (i + 1)));
    const table = parameter(values(rows * dim, 0.3), [rows, dim]);
    const lookups = [Int32Array.from([1, 4, 1, 6]), Int32Array.from([4, 0, 4, 4])];
    const grads = lookups.map((ids, k) => values(ids.length * dim, 1.7 + k));
    const want = scatterSums(lookups, grads, rows, dim);
    // Two backward passes (the second finds the table's gradient held), and one pass through both lookups.
    await scopeAsync(async () => {
      for (const [k, ids] of lookups.entries()) backward(embedding(fromArray(ids, [4], 'i32'), table, ids), fromArray(grads[k]!, [4, dim]));
      expectClose(await table.grad!.read(), want, SUMMED, 'two backward passes');
      table.grad!.dispose();
      table.grad = null;
      const [a, b] = lookups.map((ids) => embedding(fromArray(ids, [4], 'i32'), table, ids));
      backward(add(a!, b!), fromArray(grads[0]!, [4, dim]));
      const both = scatterSums(lookups, [grads[0]!, grads[0]!], rows, dim);
      expectClose(await table.grad!.read(), both, SUMMED, 'one pass through two lookups');
    });
    table.dispose();
  });

  it('rejects ids outside the table on the host', async () => {
    await scopeAsync(async () => {
      const table = fromArray(new Float32Array(12), [3, 4]);
      const ids = fromArray([0, 3], [2], 'i32');
      expect(() => embedding(ids, table, Int32Array.from([0, 3]))).toThrow(/id 3 at position 1 is outside the table's 3 rows/);
      expect(() => embedding(ids, table, Int32Array.from([-1, 0]))).toThrow(/id -1 at position 0/);
    });
  });

  it('asks for host ids when the table needs a gradient', async () => {
    await scopeAsync(async () => {
      const table = fromArray(new Float32Array(12), [3, 4]);
      table.requiresGrad = true;
      expect(() => embedding(fromArray([0, 2], [2], 'i32'), table)).toThrow(/hostIds/);
    });
  });
});

describe('patchify against PyTorch conv2d (kernel = stride = patch)', () => {
  for (const c of cases.filter((k) => k.attrs.op === 'patchify')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const images = fixtureTensor(c, 'images', { requiresGrad: true });
        const patches = patchify(images, c.attrs.patch as number);
        const [batch, count, cols] = patches.shape as [number, number, number];
        const weight = tensorOf(c, 'weight');
        const width = weight.shape[0]!;
        if (c.tensors.patches) await expectTensorClose(patches, tensorOf(c, 'patches'), EXACT, 'patches vs unfold');
        const conv = matmulTransB(await patches.read(), weight.data, batch * count, width, cols);
        expectClose(conv, tensorOf(c, 'conv'), EXACT_SUMS, 'patches x weight^T vs conv2d');
        if (!c.tensors.grad_conv) return;
        // The conv's backward to the images: dPatches = dConv x weight, then patchify's own backward.
        const gradPatches = matmul(tensorOf(c, 'grad_conv').data, weight.data, batch * count, width, cols);
        backward(patches, fromArray(gradPatches, patches.shape));
        await expectTensorClose(images.grad!, tensorOf(c, 'grad_images'), EXACT_SUMS, 'grad images');
        images.dispose();
      });
    });
  }
});
