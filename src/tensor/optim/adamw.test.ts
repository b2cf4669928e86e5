import { describe, expect, it, vi } from 'vitest';
import { type FixtureCase, type FixtureTensor, type Tolerance, expectClose, expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { asFallbackAdapter, setupTestGpu } from '../../testing/gpu.ts';
import { SLOT_BYTES, flatLayout } from '../flat.ts';
import { sumAll } from '../ops/reduce.ts';
import { mul } from '../ops/elementwise.ts';
import { adamwHyperRow, clampInPlace, emaUpdate } from '../ops/update.ts';
import { scope } from '../scope.ts';
import { backward } from '../tape.ts';
import { type Tensor, fromArray, parameter } from '../tensor.ts';
import { AdamW, decayFor } from './adamw.ts';

const gpu = setupTestGpu();

// Our kernel does torch's float32 operations in torch's order, so what differs is sqrt and division (WGSL allows
// ~2.5 ulp) and whether a multiply-add is fused (torch's vectorized CPU kernel fuses the moment updates, SwiftShader
// does not fuse WGSL fma()): a few ulp per step on O(1) parameters, compounded over 5 steps (measured: <= 6 ulp).
// A wrong bias correction, decay or eps is off by ~lr * 1e-2 or more, far beyond this.
const PARAM_TOL = { rtol: 2e-6, atol: 1e-7 };
/**
 * A moment is a running sum whose terms (beta * m and (1 - beta) * g) can cancel, so a fused or unfused
 * multiply-add moves it by an ulp of its largest terms, not of itself: tolerate 1e-6 of the tensor's largest
 * value (measured: 1.1e-7). Scaled per tensor because exp_avg_sq of the tiny gradients is ~1e-16.
 */
function momentTol(expected: FixtureTensor): Tolerance {
  return { rtol: 1e-6, atol: 1e-6 * Math.max(...expected.data.map(Math.abs)) };
}
// One multiply-add: at most the rounding of momentum * target (half an ulp of O(1) values) if the compiler fuses it.
const EMA_TOL = { rtol: 1e-6, atol: 1e-7 };
// min/max of float32 values: exact.
const EXACT = { rtol: 0, atol: 0 };

const cases = loadFixture('optim');
const casesOf = (op: string): FixtureCase[] => cases.filter((c) => c.name.startsWith(op));

/** Puts the fixture's gradient for this step into `p.grad` (reusing its buffer), or leaves p without one. */
function setGrad(c: FixtureCase, p: Tensor, key: string): void {
  const g = c.tensors[key];
  if (!g) {
    p.grad?.dispose();
    p.grad = null;
  } else if (p.grad) {
    gpu().write(p.grad.range, Float32Array.from(g.data));
  } else {
    p.grad = fixtureTensor(c, key).keep();
  }
}

// Every case runs on both AdamW kernels: neighbouring vec4s per invocation (GPUs) and whole slots (CPU adapters).
for (const fallback of [false, true]) {
  describe(`AdamW against torch.optim.AdamW, ${fallback ? 'CPU' : 'GPU'} kernels`, () => {
    asFallbackAdapter(gpu, fallback);
    for (const c of casesOf('adamw')) {
      it(c.name, async () => {
        const specs = c.attrs.params as { name: string; decay: boolean }[];
        const params = specs.map((_, i) => fixtureTensor(c, `p${i}_init`, { requiresGrad: true }).keep());
        const optimizer = new AdamW(
          specs.map((s, i) => ({ name: s.name, param: params[i]!, decay: s.decay })),
          {
            lr: c.attrs.lr as number,
            betas: c.attrs.betas as [number, number],
            eps: c.attrs.eps as number,
            weightDecay: c.attrs.weightDecay as number,
          },
        );
        const steps = c.attrs.steps as number;
        for (let step = 1; step <= steps; step++) {
          for (const [i, p] of params.entries()) setGrad(c, p, `g${i}_s${step}`);
          optimizer.step();
          for (const [i, p] of params.entries()) {
            await expectTensorClose(p, c.tensors[`p${i}_s${step}`]!, PARAM_TOL, `${specs[i]!.name} after step ${step}`);
          }
        }
        const state = optimizer.state();
        expect(state.step).toBe(steps);
        for (const [i, s] of state.params.entries()) {
          expect(s.name).toBe(specs[i]!.name);
          expect(s.step).toBe(c.tensors[`step${i}`]!.data[0]);
          await expectTensorClose(s.expAvg, c.tensors[`m${i}`]!, momentTol(c.tensors[`m${i}`]!), `${s.name} exp_avg`);
          await expectTensorClose(s.expAvgSq, c.tensors[`v${i}`]!, momentTol(c.tensors[`v${i}`]!), `${s.name} exp_avg_sq`);
        }
        optimizer.dispose();
        for (const p of params) p.dispose();
      });
    }

    it('zeroGrad leaves zero gradients as torch 1.13 does (set_to_none=False), and memory stays flat over many steps', async () => {
      const w = parameter([1, 2, 3, 4, 5, 6], [2, 3]);
      const b = parameter([0.5, -0.5, 1], [3]);
      const optimizer = new AdamW([
        { name: 'w', param: w, decay: true },
        { name: 'b', param: b, decay: false },
      ]);
      w.grad = fromArray([1, -1, 2, -2, 3, -3], [2, 3]).keep();
      optimizer.step();
      optimizer.zeroGrad();
      expect(w.grad).toBeNull(); // dropped, standing for zeros: the next backward's first gradient is taken as it is
      const before = Array.from(await w.read());
      optimizer.step(); // no backward: w, which had a gradient, is stepped with zeros; b never had one
      expect(Array.from(await w.grad!.read())).toEqual([0, 0, 0, 0, 0, 0]);
      expect(Array.from(await w.read())).not.toEqual(before);
      expect(b.grad).toBeNull();
      optimizer.zeroGrad();
      const live = gpu().memory().liveBytes;
      for (let i = 0; i < 20; i++) {
        w.grad = fromArray([1, 2, 3, 4, 5, 6], [2, 3]).keep();
        optimizer.step();
        optimizer.zeroGrad();
      }
      await gpu().sync();
      expect(gpu().memory().liveBytes).toBe(live);
      expect(optimizer.state().params.map((p) => p.step)).toEqual([22, 0]);
      optimizer.dispose();
      w.dispose();
      b.dispose();
    });

    it('moves every teacher, stepped parameter or not, before the step', async () => {
      const [w, b] = [parameter([1, 2, 3, 4], [2, 2]), parameter([0.5, -0.5], [2])];
      const [tw, tb] = [fromArray([0, 0, 0, 0], [2, 2]).keep(), fromArray([1, 1], [2]).keep()];
      const optimizer = new AdamW(
        [
          { name: 'w', param: w, decay: true },
          { name: 'b', param: b, decay: false },
        ],
        {},
        new Map([
          [w, tw],
          [b, tb],
        ]),
      );
      w.grad = fromArray([1, -1, 2, -2], [2, 2]).keep();
      optimizer.step(1e-3, 0.75);
      expect(Array.from(await tw.read())).toEqual([0.25, 0.5, 0.75, 1]); // 0.75 * 0 + 0.25 * w before its step
      expect(Array.from(await tb.read())).toEqual([0.875, 0.625]); // b has no gradient and does not step; its teacher moves
      expect(Array.from(await b.read())).toEqual([0.5, -0.5]);
      expect(optimizer.state().params.map((p) => p.step)).toEqual([1, 0]);
      optimizer.step(1e-3); // no momentum: the teachers stay
      expect(Array.from(await tb.read())).toEqual([0.875, 0.625]);
      optimizer.dispose();
      for (const t of [w, b, tw, tb]) t.dispose();
    });

    it('backward writes the gradients into the flat buffer, adding later shares there', async () => {
      const w = parameter([1, 2, 3], [3]);
      const optimizer = new AdamW([{ name: 'w', param: w, decay: false }]);
      for (let step = 0; step < 2; step++) {
        optimizer.zeroGrad();
        scope(() => {
          backward(sumAll(mul(mul(w, w), fromArray([1, 10, 100], [3])))); // d/dw = 2 w * [1, 10, 100]
          backward(sumAll(mul(w, fromArray([1, 1, 1], [3])))); // + 1, added into the held gradient
        });
        expect(w.grad!.sameRange(w.gradSlot!)).toBe(true);
        const weights = Array.from(await w.read());
        expectClose(
          await w.grad!.read(),
          weights.map((x, i) => 2 * x * [1, 10, 100][i]! + 1),
          { rtol: 1e-6, atol: 0 },
          `step ${step}`,
        );
        optimizer.step(0.1);
      }
      optimizer.dispose();
      expect(w.gradSlot).toBeNull();
      w.dispose();
    });

    it('takes parameters over from an earlier optimizer, and frees its flat buffers once all are disposed', async () => {
      const live = gpu().memory().liveBytes;
      const w = parameter([1, -2, 3, -4], [2, 2]);
      const first = new AdamW([{ name: 'w', param: w, decay: true }]);
      w.grad = fromArray([1, 1, 1, 1], [2, 2]).keep();
      first.step(0.5);
      first.zeroGrad();
      const afterFirst = Array.from(await w.read());
      first.dispose();
      const second = new AdamW([{ name: 'w', param: w, decay: true }]);
      expect(Array.from(await w.read())).toEqual(afterFirst);
      second.step(0.5); // no gradient: nothing moves
      expect(Array.from(await w.read())).toEqual(afterFirst);
      second.dispose();
      w.dispose();
      await gpu().sync();
      expect(gpu().memory().liveBytes).toBe(live);
    });

    it('updates parameters spread over several chunks when one binding cannot hold them all', async () => {
      const sizes = [300, 70, 500, 1];
      const maxChunk = 8 * SLOT_BYTES;
      const layout = flatLayout(sizes, maxChunk);
      expect(layout.slots.map((slot) => slot.chunk)).toEqual([0, 0, 1, 2]);
      expect(layout.slots.map((slot) => slot.byteOffset)).toEqual([0, 5 * SLOT_BYTES, 0, 0]); // 300 floats take 5 slots
      const c = { beta1: 0.9, beta2: 0.98, eps: 1e-8 };
      const start = sizes.map((n, k) => Float32Array.from({ length: n }, (_, i) => Math.cos(i + k)));
      const grads = sizes.map((n, k) => Float32Array.from({ length: n }, (_, i) => Math.sin(3 * i + k)));
      const params = start.map((x) => parameter(x, [x.length]));
      const spy = vi.spyOn(gpu(), 'maxBindingBytes', 'get').mockReturnValue(maxChunk);
      let optimizer: AdamW;
      try {
        optimizer = new AdamW(
          params.map((param, k) => ({ name: `p${k}`, param, decay: k % 2 === 0 })),
          { lr: 1e-2, betas: [c.beta1, c.beta2], eps: c.eps, weightDecay: 0.1 },
        );
      } finally {
        spy.mockRestore();
      }
      for (const [k, p] of params.entries()) p.grad = fromArray(grads[k]!, [sizes[k]!]).keep();
      optimizer.step();
      for (const [k, p] of params.entries()) {
        const row = adamwHyperRow(c, { lr: 1e-2, weightDecay: k % 2 === 0 ? 0.1 : 0, step: 1 });
        const want = Array.from(start[k]!, (x, i) => {
          const g = grads[k]![i]!;
          return x * row[0] + (row[2] * (1 - c.beta1) * g) / (Math.sqrt((1 - c.beta2) * g * g) / row[1] + c.eps);
        });
        expectClose(await p.read(), want, PARAM_TOL, `p${k}`);
      }
      optimizer.dispose();
      for (const p of params) p.dispose();
    });

    it('refuses a parameter listed twice', () => {
      const w = parameter([1], [1]);
      expect(
        () =>
          new AdamW([
            { name: 'a', param: w, decay: false },
            { name: 'b', param: w, decay: false },
          ]),
      ).toThrow(/same tensor/);
      w.dispose();
    });
  });
}

describe('decayFor (the COSMOS no-decay rule)', () => {
  it('matches the groups of the fixture', () => {
    for (const c of casesOf('adamw')) {
      for (const [i, s] of (c.attrs.params as { name: string; decay: boolean }[]).entries()) {
        expect(decayFor(s.name, c.tensors[`p${i}_init`]!.shape.length), s.name).toBe(s.decay);
      }
    }
  });

  it('decays matrices only, and never norms, biases or logit scales', () => {
    expect(decayFor('visual.transformer.resblocks.3.attn.in_proj_weight', 2)).toBe(true);
    expect(decayFor('positional_embedding', 2)).toBe(true);
    expect(decayFor('visual.conv1.weight', 4)).toBe(true);
    expect(decayFor('visual.class_embedding', 1)).toBe(false);
    expect(decayFor('visual.attn_cross_pool.ln_q.weight', 1)).toBe(false);
    expect(decayFor('visual.transformer.resblocks.3.attn.in_proj_bias', 1)).toBe(false);
    expect(decayFor('distill_logit_scale', 0)).toBe(false);
    // The rule is by name as well as by rank, as in the reference code.
    expect(decayFor('text_attn_cross_pool.ln_k.weight', 2)).toBe(false);
    expect(decayFor('image_token_mapping.bias', 2)).toBe(false);
  });
});

describe('teacher EMA and clamp against PyTorch', () => {
  for (const c of casesOf('ema')) {
    it(c.name, async () => {
      const target = fixtureTensor(c, 'target');
      const source = fixtureTensor(c, 'source');
      emaUpdate(target, source, c.attrs.momentum as number);
      await expectTensorClose(target, c.tensors.out!, EMA_TOL, 'teacher');
      target.dispose();
      source.dispose();
    });
  }

  for (const c of casesOf('clamp')) {
    it(c.name, async () => {
      const x = fixtureTensor(c, 'x');
      clampInPlace(x, c.attrs.min as number, c.attrs.max as number);
      await expectTensorClose(x, c.tensors.out!, EXACT, 'clamped');
      x.dispose();
    });
  }
});

// The update kernels split their vec4s into blocks by adapter kind: a few large blocks on a CPU adapter, one round
// per workgroup on a GPU. Over 100,003 elements (a partial last vec4), each must be updated exactly once under both,
// with the per-element rounding of the fixtures above: host float64 arithmetic stands in for torch here.
for (const fallback of [true, false]) {
  describe(`updates over many blocks, ${fallback ? 'CPU' : 'GPU'} blocks`, () => {
    asFallbackAdapter(gpu, fallback);
    const n = 100_003;
    const values = (seed: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * seed) * 2);
    const [xv, gv] = [values(0.37), values(1.9)];

    it('one AdamW step from zero moments', async () => {
      const c = { beta1: 0.9, beta2: 0.98, eps: 1e-8 };
      const h = { lr: 1e-3, weightDecay: 0.1, step: 1 };
      const p = parameter(xv, [n]);
      const optimizer = new AdamW([{ name: 'w', param: p, decay: true }], { lr: h.lr, betas: [c.beta1, c.beta2], eps: c.eps, weightDecay: h.weightDecay });
      p.grad = fromArray(gv, [n]).keep();
      optimizer.step();
      const row = adamwHyperRow(c, h);
      const mWant = Array.from(gv, (gi) => (1 - c.beta1) * gi);
      const vWant = Array.from(gv, (gi) => (1 - c.beta2) * gi * gi);
      const pWant = Array.from(xv, (xi, i) => xi * row[0] + (row[2] * mWant[i]!) / (Math.sqrt(vWant[i]!) / row[1] + c.eps));
      const [{ expAvg, expAvgSq }] = optimizer.state().params;
      expectClose(await expAvg!.read(), mWant, { rtol: 1e-6, atol: 0 }, 'exp_avg');
      expectClose(await expAvgSq!.read(), vWant, { rtol: 1e-6, atol: 0 }, 'exp_avg_sq');
      expectClose(await p.read(), pWant, PARAM_TOL, 'param');
      optimizer.dispose();
      p.dispose();
    });

    it('AdamW with the teacher EMA in the same pass gives exactly the EMA then the AdamW step', async () => {
      const tv = values(2.3);
      const run = async (fused: boolean) => {
        const [p, teacher] = [parameter(xv, [n]), fromArray(tv, [n]).keep()];
        const optimizer = new AdamW([{ name: 'w', param: p, decay: true }], { lr: 1e-3, weightDecay: 0.1 }, fused ? new Map([[p, teacher]]) : undefined);
        for (let step = 0; step < 3; step++) {
          p.grad = fromArray(values(1.9 + step), [n]).keep();
          if (fused) {
            optimizer.step(undefined, 0.99);
          } else {
            emaUpdate(teacher, p, 0.99);
            optimizer.step();
          }
        }
        const [{ expAvg, expAvgSq }] = optimizer.state().params;
        const read = await Promise.all([teacher, p, expAvg!, expAvgSq!].map((t) => t.read()));
        optimizer.dispose();
        p.dispose();
        teacher.dispose();
        return read;
      };
      const [fused, apart] = [await run(true), await run(false)];
      for (const [i, key] of ['teacher', 'p', 'm', 'v'].entries()) expectClose(fused[i]!, apart[i]!, EXACT, key);
    });

    it('teacher EMA and clamp', async () => {
      const [target, source] = [fromArray(xv, [n]), fromArray(gv, [n])];
      emaUpdate(target, source, 0.99);
      expectClose(
        await target.read(),
        Array.from(xv, (x, i) => x * 0.99 + 0.01 * gv[i]!),
        EMA_TOL,
        'teacher',
      );
      clampInPlace(source, -1, 0.5);
      expectClose(
        await source.read(),
        gv.map((x) => Math.min(Math.max(x, -1), 0.5)),
        EXACT,
        'clamped',
      );
      target.dispose();
      source.dispose();
    });
  });
}
