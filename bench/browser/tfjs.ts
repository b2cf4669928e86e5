/**
 * The same products through @tensorflow/tfjs-backend-webgpu: tf.matMul, and attention as the plain
 * composition softmax(q kᵀ / √d) v differentiated by tf.grads. A repetition runs inside tf.tidy and ends by
 * submitting tfjs's pending commands and waiting for its queue to drain: the same wait as our `gpu().sync()`,
 * with no readback on either side.
 */
import * as tf from '@tensorflow/tfjs-core';
// tfjs-core alone registers no gradients; the full @tensorflow/tfjs package imports this same module.
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-webgpu';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import type { Implementation } from '../cases.ts';
import { steady } from '../measure.ts';

export interface Tfjs {
  impl: Implementation;
  /** The adapter tfjs opened, as tfjs reports it (vendor / architecture). */
  adapter: string;
}

export async function startTfjs(): Promise<Tfjs> {
  // Small inputs not yet on the GPU would otherwise run on the CPU; ours always run on the GPU.
  tf.env().set('WEBGPU_CPU_FORWARD', false);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs could not start its webgpu backend');
  await tf.ready();
  const backend = tf.backend() as WebGPUBackend;
  // The steps tfjs takes itself before a readback (getBufferData), without the copy.
  const sync = async (): Promise<void> => {
    backend.ensureCommandEncoderReady();
    backend.endComputePassEncoder();
    backend.submitQueue();
    await backend.queue.onSubmittedWorkDone();
  };
  // tfjs keeps the adapter's vendor and architecture in fields its typings mark private.
  const info = backend.adapterInfo as unknown as { vendor?: string; architecture?: string };
  const adapter = [info.vendor, info.architecture].filter(Boolean).join(' / ');
  return { impl: tfjsImplementation(sync), adapter };
}

const liveBytes = (): number => tf.memory().numBytes;

function tfjsImplementation(sync: () => Promise<void>): Implementation {
  return {
    name: 'tfjs-webgpu',

    matmul({ m, k, n }, a, b) {
      const ta = tf.tensor2d(a, [m, k]);
      const tb = tf.tensor2d(b, [k, n]);
      return {
        rep: steady(
          async () => {
            tf.tidy(() => {
              tf.matMul(ta, tb);
            });
            await sync();
          },
          liveBytes,
          'tfjs-webgpu',
        ),
        async result() {
          const out = tf.matMul(ta, tb);
          try {
            return (await out.data()) as Float32Array;
          } finally {
            out.dispose();
          }
        },
        dispose() {
          tf.dispose([ta, tb]);
        },
      };
    },

    attention({ batch, heads, tokens, headDim }, data) {
      const shape: [number, number, number] = [batch, tokens, heads * headDim];
      const [q, k, v, gradOut] = [data.q, data.k, data.v, data.gradOut].map((x) => tf.tensor3d(x, shape));
      const scale = 1 / Math.sqrt(headDim);
      // [B, T, H*D] -> [B, H, T, D] and back.
      const split = (x: tf.Tensor) => tf.transpose(tf.reshape(x, [batch, tokens, heads, headDim]), [0, 2, 1, 3]);
      const merge = (x: tf.Tensor) => tf.reshape(tf.transpose(x, [0, 2, 1, 3]), shape);
      const attend = (q: tf.Tensor, k: tf.Tensor, v: tf.Tensor): tf.Tensor => {
        const weights = tf.softmax(tf.mul(tf.matMul(split(q), split(k), false, true), scale));
        return merge(tf.matMul(weights, split(v)));
      };
      const forwardBackward = tf.grads(attend);
      return {
        rep: steady(
          async () => {
            tf.tidy(() => {
              forwardBackward([q, k, v], gradOut);
            });
            await sync();
          },
          liveBytes,
          'tfjs-webgpu',
        ),
        async result() {
          const grads = forwardBackward([q, k, v], gradOut);
          try {
            return (await grads[0]!.data()) as Float32Array;
          } finally {
            tf.dispose(grads);
          }
        },
        dispose() {
          tf.dispose([q, k, v, gradOut]);
        },
      };
    },
  };
}
