/**
 * WiSE-FT (Wortsman et al., "Robust fine-tuning of zero-shot models"): the weights of a fine-tuned model mixed with
 * those it started from, theta = (1 - alpha) theta_0 + alpha theta_1, parameter by parameter. OpenCLIP points users
 * to it when fine-tuning makes a model forget what it knew: alpha 0 is the loaded model, 1 the fine-tuned one.
 */
import { gpu, noGrad } from '../tensor/engine.ts';
import { add, scale } from '../tensor/ops/elementwise.ts';
import { scope } from '../tensor/scope.ts';
import type { ClipModel } from './model.ts';

/** A new model (the caller disposes it) with the mix of `zero`'s and `one`'s weights; the two must be the same architecture. */
export function wiseFt<M extends ClipModel>(zero: ClipModel, one: M, alpha: number): M {
  if (!(alpha >= 0 && alpha <= 1)) throw new Error(`WiSE-FT mixes with a weight between 0 and 1, not ${alpha}`);
  const from = new Map(zero.namedParameters());
  const mixed = one.copy();
  try {
    noGrad(() =>
      scope(() => {
        for (const [name, target] of mixed.namedParameters()) {
          const source = from.get(name);
          if (!source || source.shape.join() !== target.shape.join()) {
            throw new Error(
              `WiSE-FT needs both models to have the same weights: ${name} is ${source ? `[${source.shape}] and [${target.shape}]` : 'missing from the loaded model'}`,
            );
          }
          const value = add(scale(source, 1 - alpha), scale(target, alpha));
          gpu().copy(value.range, 0, target.range, 0, target.byteSize);
        }
      }),
    );
    return mixed;
  } catch (error) {
    mixed.dispose();
    throw error;
  }
}
