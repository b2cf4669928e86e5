/**
 * The products on our engine. Works wherever a runtime is installed with `installRuntime` (Dawn in Node, the
 * browser's WebGPU). Inputs are uploaded once; each repetition runs inside a scope (its tensors and tape are
 * freed when it closes) and ends with `await gpu().sync()`, which submits and waits for the queue to drain.
 */
import { attention } from '../src/tensor/ops/attention.ts';
import { matmul } from '../src/tensor/ops/matmul.ts';
import { gpu } from '../src/tensor/engine.ts';
import { scope } from '../src/tensor/scope.ts';
import { backward } from '../src/tensor/tape.ts';
import { fromArray, parameter } from '../src/tensor/tensor.ts';
import type { Implementation } from './cases.ts';
import { steady } from './measure.ts';

const liveBytes = (): number => gpu().memory().liveBytes;

export const cosmosWeb: Implementation = {
  name: 'cosmos-web',

  matmul({ m, k, n }, a, b) {
    const ta = fromArray(a, [m, k]).keep();
    const tb = fromArray(b, [k, n]).keep();
    return {
      rep: steady(
        async () => {
          scope(() => {
            matmul(ta, tb);
          });
          await gpu().sync();
        },
        liveBytes,
        'cosmos-web',
      ),
      async result() {
        const out = matmul(ta, tb).keep();
        try {
          return await out.readFloat();
        } finally {
          out.dispose();
        }
      },
      dispose() {
        ta.dispose();
        tb.dispose();
      },
    };
  },

  attention({ batch, heads, tokens, headDim }, data) {
    const shape = [batch, tokens, heads * headDim];
    // Leaves that require grad: backward accumulates dq, dk, dv into their kept .grad (same buffers every rep).
    const q = parameter(data.q, shape);
    const k = parameter(data.k, shape);
    const v = parameter(data.v, shape);
    const gradOut = fromArray(data.gradOut, shape).keep();
    const forwardBackward = () =>
      scope(() => {
        const { out } = attention(q, k, v, { heads });
        backward(out, gradOut);
      });
    return {
      rep: steady(
        async () => {
          forwardBackward();
          await gpu().sync();
        },
        liveBytes,
        'cosmos-web',
      ),
      async result() {
        q.grad?.dispose();
        q.grad = null;
        forwardBackward();
        return q.grad!.readFloat();
      },
      dispose() {
        for (const t of [q, k, v, gradOut]) t.dispose();
      },
    };
  },
};
