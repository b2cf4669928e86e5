/**
 * The same products through jax-js (@jax-js/jax) on its WebGPU device: np.matmul, and attention as the plain
 * composition softmax(q kᵀ / √d) v differentiated by vjp, each compiled with jit (jax-js's fastest path: it
 * fuses element-wise work into its generated kernels). jax-js moves arrays into the functions it is given, so
 * inputs are passed as `.ref` (a new reference) and outputs disposed. A repetition ends when blockUntilReady
 * resolves, once jax-js's queue has finished: the same wait as our `gpu().sync()`.
 */
import { type Array as JaxArray, blockUntilReady, defaultDevice, init, jit, nn, numpy as np, vjp } from '@jax-js/jax';
import type { Implementation } from '../cases.ts';
import { steady } from '../measure.ts';

export async function startJaxjs(): Promise<Implementation> {
  const devices = await init('webgpu');
  if (!devices.includes('webgpu')) throw new Error('jax-js could not start its webgpu device');
  defaultDevice('webgpu');
  return jaxjsImplementation;
}

/** jax-js frees an array when its last reference is disposed and reports no byte count: nothing to watch. */
const liveBytes = (): number => 0;

async function readAndDispose(x: JaxArray): Promise<Float32Array> {
  try {
    return Float32Array.from(await x.ref.data());
  } finally {
    x.dispose();
  }
}

const jaxjsImplementation: Implementation = {
  name: 'jax-js-webgpu',

  matmul({ m, k, n }, a, b) {
    // Copies: jax-js takes Float32Arrays over plain ArrayBuffers only.
    const ja = np.array(Float32Array.from(a), { shape: [m, k] });
    const jb = np.array(Float32Array.from(b), { shape: [k, n] });
    const product = jit((x: JaxArray, y: JaxArray) => np.matmul(x, y));
    return {
      rep: steady(
        async () => {
          const out = product(ja.ref, jb.ref);
          await blockUntilReady(out);
          out.dispose();
        },
        liveBytes,
        'jax-js-webgpu',
      ),
      result: () => readAndDispose(product(ja.ref, jb.ref)),
      dispose() {
        ja.dispose();
        jb.dispose();
        product.dispose();
      },
    };
  },

  attention({ batch, heads, tokens, headDim }, data) {
    const shape = [batch, tokens, heads * headDim];
    const [q, k, v, gradOut] = [data.q, data.k, data.v, data.gradOut].map((x) => np.array(Float32Array.from(x), { shape }));
    const scale = 1 / Math.sqrt(headDim);
    // [B, T, H*D] -> [B, H, T, D] and back.
    const split = (x: JaxArray) => np.transpose(np.reshape(x, [batch, tokens, heads, headDim]), [0, 2, 1, 3]);
    const merge = (x: JaxArray) => np.reshape(np.transpose(x, [0, 2, 1, 3]), shape);
    const attend = (q: JaxArray, k: JaxArray, v: JaxArray) => {
      const scores = np.matmul(split(q), np.transpose(split(k), [0, 1, 3, 2])).mul(scale);
      return merge(np.matmul(nn.softmax(scores, -1), split(v)));
    };
    // dL/dq, dL/dk, dL/dv for the upstream gradient g.
    const forwardBackward = jit((q: JaxArray, k: JaxArray, v: JaxArray, g: JaxArray) => {
      const [out, backward] = vjp(attend, [q, k, v]);
      out.dispose();
      const grads = backward(g);
      backward.dispose();
      return grads;
    });
    const run = () => forwardBackward(q!.ref, k!.ref, v!.ref, gradOut!.ref);
    return {
      rep: steady(
        async () => {
          const grads = run();
          await blockUntilReady(grads);
          for (const g of grads) g.dispose();
        },
        liveBytes,
        'jax-js-webgpu',
      ),
      async result() {
        const [dq, dk, dv] = run();
        dk!.dispose();
        dv!.dispose();
        return readAndDispose(dq!);
      },
      dispose() {
        for (const x of [q, k, v, gradOut]) x!.dispose();
        forwardBackward.dispose();
      },
    };
  },
};
