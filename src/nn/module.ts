/**
 * Module: parameters and child modules under local names that compose into OpenCLIP's dotted state_dict keys
 * (`transformer.resblocks.3.attn.in_proj_weight`), so a checkpoint maps onto our modules without a renaming table.
 */
import { gpu } from '../tensor/engine.ts';
import { type Shape, type Tensor, fromArray, shapeString, zeros } from '../tensor/tensor.ts';
import { draw, type Init } from './init.ts';
import type { Random } from '../data/random.ts';

/** A tensor's values on the host, as a checkpoint or a fixture holds them. */
export interface HostTensor {
  shape: Shape;
  data: ArrayLike<number>;
}

export abstract class Module {
  private readonly ownParameters = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();

  /**
   * Creates a trainable parameter (kept, requiring grad) drawn by `init`; without a random stream, a random rule
   * leaves zeros on the GPU for a checkpoint to fill.
   */
  protected parameter(name: string, shape: Shape, init: Init, random: Random | null): Tensor {
    const values = draw(
      init,
      shape.reduce((a, b) => a * b, 1),
      random,
    );
    const t = (values ? fromArray(values, shape) : zeros(shape)).keep();
    t.requiresGrad = true;
    this.ownParameters.set(name, t);
    return t;
  }

  protected module<M extends Module>(name: string, child: M): M {
    this.children.set(name, child);
    return child;
  }

  /** Every parameter with its full dotted name, depth first in registration order (PyTorch's order). */
  namedParameters(prefix = ''): [string, Tensor][] {
    const out: [string, Tensor][] = [];
    for (const [name, t] of this.ownParameters) out.push([prefix + name, t]);
    for (const [name, child] of this.children) out.push(...child.namedParameters(`${prefix}${name}.`));
    return out;
  }

  parameters(): Tensor[] {
    return this.namedParameters().map(([, t]) => t);
  }

  /**
   * Writes host values into the parameters, in place. Strict: every parameter must be given, nothing else may be,
   * and shapes must match; all problems are listed in one error.
   */
  loadStateDict(values: ReadonlyMap<string, HostTensor>): void {
    const own = new Map(this.namedParameters());
    const missing = [...own.keys()].filter((k) => !values.has(k));
    const unexpected = [...values.keys()].filter((k) => !own.has(k));
    const misShaped = [...own].flatMap(([k, t]) => {
      const v = values.get(k);
      return v && shapeString(v.shape) !== shapeString(t.shape) ? [`${k}: checkpoint ${shapeString(v.shape)}, model ${shapeString(t.shape)}`] : [];
    });
    const problems = [
      missing.length ? `missing keys: ${missing.join(', ')}` : '',
      unexpected.length ? `unexpected keys: ${unexpected.join(', ')}` : '',
      misShaped.length ? `wrong shapes: ${misShaped.join('; ')}` : '',
    ].filter(Boolean);
    if (problems.length) throw new Error(`State dict does not fit the model: ${problems.join('. ')}`);
    for (const [k, t] of own) gpu().write(t.range, Float32Array.from(values.get(k)!.data));
  }

  dispose(): void {
    for (const t of this.parameters()) t.dispose();
  }
}
