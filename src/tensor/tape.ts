/**
 * Reverse-mode autograd. Each op that has an input needing a gradient records a node: its inputs, its output
 * and a backward rule that turns the output's gradient into the inputs' gradients. `backward(loss)` walks the
 * tape from the end (the tape is in creation order, hence topologically sorted) and accumulates gradients:
 * into `.grad` for leaves that require it (parameters), in a map for intermediates.
 */
import { engine, gpu, noGrad } from './engine.ts';
import { type Shape, Tensor, fromArray, shapeString, zeros } from './tensor.ts';
import { accumulateInto, add } from './ops/elementwise.ts';

export interface TapeNode {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  /** Scratch the backward rule reads besides inputs and output (softmax weights, row statistics), owned by the node. */
  readonly saved?: readonly Tensor[];
  /**
   * Input gradients given the output gradient; `null` where `needs[i]` is false or an input has none. A rule whose
   * kernels can add as they store may call `held.take(i)` and return input i's share plus what it took.
   */
  readonly backward: (gradOutput: Tensor, needs: readonly boolean[], held: HeldGradients) => readonly (Tensor | null)[];
}

/**
 * The gradients the inputs of a node already hold (a leaf's `.grad`, an intermediate's sum so far), offered to its
 * backward rule: a rule that takes input i's returns a new tensor, its own share plus the one taken, which then
 * replaces it. This saves the separate add (one dispatch, one pass over the gradient) for every input used twice:
 * weights shared by views and crops, the residual stream.
 */
export interface HeldGradients {
  /** Input i's gradient so far, or null if it has none yet; once taken, the rule must add it into what it returns. */
  take(i: number): Tensor | null;
  /**
   * Input i's gradient so far where the rule may add its share into it in place (a leaf's `.grad` in backward(),
   * which nothing else reads), else null; a rule that gets one returns that same tensor, its share added. This
   * saves even the copy: a token table's gradient is the whole table, its share a few rows.
   */
  takeInPlace(i: number): Tensor | null;
}

export const needsGrad = (t: Tensor): boolean => t.requiresGrad || t.node !== null;

/**
 * Records `output = op(inputs)` when grad mode is on and some input needs a gradient. Returns `output`. When it
 * records nothing, no backward will read `saved`: that scratch is freed here (the dispatches that wrote it are
 * already queued), so ops need not check.
 */
export function record(op: string, inputs: readonly Tensor[], output: Tensor, backward: TapeNode['backward'], saved?: readonly Tensor[]): Tensor {
  if (!engine.gradEnabled || !inputs.some(needsGrad)) {
    for (const t of saved ?? []) t.dispose();
    return output;
  }
  const node: TapeNode = { op, inputs, output, backward, saved };
  output.node = node;
  engine.tape.push(node);
  return output;
}

/**
 * Backpropagates from `loss` (a one-element tensor, or any tensor with `gradLoss` of its shape), adds the
 * gradients of every leaf that requires one into its `.grad`, and clears the tape.
 */
export function backward(loss: Tensor, gradLoss?: Tensor): void {
  propagate(loss, gradLoss, needsGrad, (leaf) => leaf.grad, accumulateLeafGrad, undefined, true);
  clearTape(0);
}

/**
 * The gradients of `output` with respect to `inputs` (intermediates or leaves), as torch.autograd.grad computes
 * them with retain_graph: only the branches that lead to `inputs` are differentiated, no leaf's `.grad` changes, and
 * the tape stays (call again with another `gradOutput`; the scope that recorded it drops it). An input that
 * `output` does not depend on gets zeros.
 */
export function gradients(output: Tensor, inputs: readonly Tensor[], gradOutput?: Tensor): Tensor[] {
  // What depends on an input, in tape order (creation order, hence topological): the tensors a gradient passes through.
  const downstream = new Set(inputs);
  for (const node of engine.tape) if (node.inputs.some((t) => downstream.has(t))) downstream.add(node.output);
  const wanted = new Set(inputs);
  const found = new Map<Tensor, Tensor>();
  const keep = (t: Tensor, g: Tensor, _owned = false, summed = false) => {
    if (!wanted.has(t)) return;
    const previous = found.get(t);
    found.set(t, previous && !summed ? add(previous, g) : g);
  };
  // The backward rules' own ops are not recorded (create_graph false): the tape is kept for the next call as it was.
  noGrad(() =>
    propagate(
      output,
      gradOutput,
      (t) => downstream.has(t),
      (t) => found.get(t) ?? null,
      keep,
      keep,
    ),
  );
  return inputs.map((t) => found.get(t) ?? zeros(t.shape));
}

/**
 * The reverse walk of the tape from `loss`: each node's output gradient, once complete, goes to `atNode`, then to
 * the node's backward rule for the inputs `needs` accepts; a leaf's share goes to `atLeaf`, with `owned` true where
 * nothing but that leaf can read it after this node (see ownedOnlyHere). With `leavesWritable`, what `leafHeld`
 * gives may be added into in place (HeldGradients.takeInPlace).
 */
function propagate(
  loss: Tensor,
  gradLoss: Tensor | undefined,
  needs: (t: Tensor) => boolean,
  leafHeld: (leaf: Tensor) => Tensor | null,
  atLeaf: (leaf: Tensor, g: Tensor, owned: boolean, summed: boolean) => void,
  atNode?: (output: Tensor, g: Tensor) => void,
  leavesWritable = false,
): void {
  if (!loss.node) throw new Error('backward: the loss was not computed from anything that requires a gradient');
  if (!gradLoss && loss.size !== 1) {
    throw new Error(`backward: a loss of shape ${shapeString(loss.shape)} needs an explicit output gradient`);
  }
  const grads = new Map<Tensor, Tensor>([[loss, gradLoss ?? fromArray([1], loss.shape)]]);
  const tape = engine.tape;
  for (let i = tape.length - 1; i >= 0; i--) {
    const node = tape[i]!;
    const gradOutput = grads.get(node.output);
    if (!gradOutput) continue;
    grads.delete(node.output);
    atNode?.(node.output, gradOutput);
    const needed = node.inputs.map(needs);
    if (!needed.some(Boolean)) continue;
    const taken = new Set<number>();
    const take = (k: number, inPlace: boolean) => {
      const input = node.inputs[k]!;
      // An input listed twice gets two shares: only the first may take what it holds.
      if (!needed[k] || node.inputs.indexOf(input) !== k) return null;
      if (inPlace && (input.node || !leavesWritable)) return null;
      const g = input.node ? (grads.get(input) ?? null) : leafHeld(input);
      if (g) taken.add(k);
      return g;
    };
    const held: HeldGradients = { take: (k) => take(k, false), takeInPlace: (k) => take(k, true) };
    const inputGrads = node.backward(gradOutput, needed, held);
    node.inputs.forEach((input, k) => {
      const g = inputGrads[k];
      if (!needed[k] || !g) return;
      if (g.size !== input.size) {
        throw new Error(`${node.op} backward: gradient ${shapeString(g.shape)} for input ${shapeString(input.shape)}`);
      }
      const summed = taken.has(k);
      if (input.node) {
        const previous = grads.get(input);
        grads.set(input, previous && !summed ? add(previous, g) : g);
      } else {
        atLeaf(input, g, ownedOnlyHere(g, k, inputGrads, node, gradOutput), summed);
      }
    });
  }
}

/**
 * backward()'s share for a leaf: added into its `.grad`, or, the first or one that summed in the `.grad` held, copied
 * into the leaf's gradSlot, or else taken as it is (when owned and of the leaf's shape) or copied where something
 * else may read it, instead of added into zeros. gradients() never comes here.
 */
function accumulateLeafGrad(leaf: Tensor, g: Tensor, owned: boolean, summed: boolean): void {
  if (leaf.grad && !summed) {
    accumulateInto(leaf.grad, g);
    return;
  }
  // Added in place into the held gradient: nothing to do. A share that summed in the held gradient replaces it.
  if (summed && g === leaf.grad) return;
  if (summed) leaf.grad?.dispose();
  if (leaf.gradSlot) {
    // The optimizer's flat gradients hold it: copied there, its own buffer goes back to the pool at once.
    gpu().copy(g.range, 0, leaf.gradSlot.range, 0, g.byteSize);
    if (owned) g.dispose();
    leaf.grad = new Tensor(leaf.shape, 'f32', leaf.gradSlot).keep();
    return;
  }
  leaf.grad = owned && sameShape(g, leaf) ? g.keep() : copied(g, leaf.shape);
}

/**
 * Whether nothing but the leaf at `k` can read `g` after this node: then the leaf may take it as its `.grad`,
 * which later gradients are added into in place. Not so for the output's gradient passed through (or a view of
 * it), a tensor handed to two inputs, or a tensor the node already holds.
 */
function ownedOnlyHere(g: Tensor, k: number, inputGrads: readonly (Tensor | null)[], node: TapeNode, gradOutput: Tensor): boolean {
  if (g === gradOutput || g.sharesStorage || inputGrads.some((other, i) => i !== k && other === g)) return false;
  return g !== node.output && !node.inputs.includes(g) && !(node.saved ?? []).includes(g);
}

const sameShape = (a: Tensor, b: Tensor): boolean => a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);

/** A kept copy of `g` with `shape` (as many elements). */
function copied(g: Tensor, shape: Shape): Tensor {
  const copy = new Tensor(shape).keep();
  gpu().copy(g.range, 0, copy.range, 0, g.byteSize);
  return copy;
}

/** Drops the tape's nodes from index `start` on, so their tensors can be freed. */
export function clearTape(start: number): void {
  const tape = engine.tape;
  for (let i = start; i < tape.length; i++) tape[i]!.output.node = null;
  tape.length = Math.min(start, tape.length);
}
