/**
 * The engine's global state: the GPU runtime every op dispatches on, whether ops record for autograd,
 * and the stack of scopes that own the tensors created inside them.
 */
import type { GpuRuntime } from '../gpu/runtime.ts';
import type { Tensor } from './tensor.ts';
import type { TapeNode } from './tape.ts';

export interface Scope {
  readonly tensors: Tensor[];
  /** Length of the tape when the scope opened: nodes past it belong to the scope. */
  readonly tapeStart: number;
}

interface EngineState {
  runtime: GpuRuntime | null;
  gradEnabled: boolean;
  scopes: Scope[];
  tape: TapeNode[];
}

export const engine: EngineState = { runtime: null, gradEnabled: true, scopes: [], tape: [] };

export function installRuntime(runtime: GpuRuntime): void {
  engine.runtime = runtime;
}

export function gpu(): GpuRuntime {
  if (!engine.runtime) throw new Error('No GPU runtime: call installRuntime() with a GpuRuntime first.');
  return engine.runtime;
}

/**
 * Runs `fn` without recording anything on the tape (the teacher, evaluation, optimizer updates). For async work
 * use noGradAsync: grad mode would come back on at the first `await`.
 */
export function noGrad<T>(fn: () => T): T {
  const previous = engine.gradEnabled;
  engine.gradEnabled = false;
  try {
    return fn();
  } finally {
    engine.gradEnabled = previous;
  }
}

/** noGrad for async work; do not interleave it with work that records (one engine, one tape). */
export async function noGradAsync<T>(fn: () => Promise<T>): Promise<T> {
  const previous = engine.gradEnabled;
  engine.gradEnabled = false;
  try {
    return await fn();
  } finally {
    engine.gradEnabled = previous;
  }
}
