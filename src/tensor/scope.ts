/**
 * Scopes own the tensors created inside them. When a scope closes, every tensor it owns is disposed except
 * those in the value it returns (a tensor, or an array or object of tensors), which move to the parent scope.
 * Tape nodes recorded inside are dropped too, unless a returned tensor still needs them for backward: then
 * those nodes and the tensors they saved move to the parent scope with it.
 */
import { engine, type Scope } from './engine.ts';
import type { TapeNode } from './tape.ts';
import { Tensor } from './tensor.ts';

function open(): Scope {
  const scope: Scope = { tensors: [], tapeStart: engine.tape.length };
  engine.scopes.push(scope);
  return scope;
}

function close(scope: Scope, result: unknown): void {
  engine.scopes.pop();
  const survivors = withTheirHistory(tensorsIn(result));
  const tape = engine.tape;
  const kept: TapeNode[] = [];
  for (let i = scope.tapeStart; i < tape.length; i++) {
    const node = tape[i]!;
    if (survivors.has(node.output)) kept.push(node);
    else node.output.node = null;
  }
  tape.splice(scope.tapeStart, tape.length - scope.tapeStart, ...kept);
  const parent = engine.scopes.at(-1);
  for (const t of scope.tensors) {
    if (survivors.has(t)) parent?.tensors.push(t);
    else t.dispose();
  }
}

/** The tensors themselves and every tensor their tape nodes saved, transitively. */
function withTheirHistory(tensors: Tensor[]): Set<Tensor> {
  const seen = new Set<Tensor>();
  const stack = [...tensors];
  while (stack.length) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    if (t.node) stack.push(...t.node.inputs, ...(t.node.saved ?? []));
  }
  return seen;
}

export function scope<T>(fn: () => T): T {
  const s = open();
  let result: T | undefined;
  try {
    result = fn();
    return result;
  } finally {
    close(s, result);
  }
}

/** `scope` for async work (readbacks inside); do not interleave two of them. */
export async function scopeAsync<T>(fn: () => Promise<T>): Promise<T> {
  const s = open();
  let result: T | undefined;
  try {
    result = await fn();
    return result;
  } finally {
    close(s, result);
  }
}

function tensorsIn(value: unknown): Tensor[] {
  if (value instanceof Tensor) return [value];
  if (Array.isArray(value)) return value.flatMap(tensorsIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(tensorsIn);
  return [];
}
