/** Reads the PyTorch fixtures (fixtures/<family>.json, made by scripts/fixtures/<family>.py) and compares. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fromArray, type Tensor } from '../tensor/tensor.ts';

export interface FixtureTensor {
  shape: number[];
  data: number[];
}

export interface FixtureCase {
  name: string;
  attrs: Record<string, unknown>;
  tensors: Record<string, FixtureTensor>;
}

const ROOT = join(import.meta.dirname, '..', '..');

export function loadFixture(family: string): FixtureCase[] {
  const file = join(ROOT, 'fixtures', `${family}.json`);
  return (JSON.parse(readFileSync(file, 'utf8')) as { cases: FixtureCase[] }).cases;
}

export function fixtureTensor(c: FixtureCase, name: string, opts: { requiresGrad?: boolean; dtype?: 'f32' | 'i32' } = {}): Tensor {
  const t = c.tensors[name];
  if (!t) throw new Error(`fixture case ${c.name} has no tensor ${name}`);
  const tensor = fromArray(t.data, t.shape, opts.dtype ?? 'f32');
  tensor.requiresGrad = opts.requiresGrad ?? false;
  return tensor;
}

export interface Tolerance {
  rtol: number;
  atol: number;
}

/**
 * Throws unless |actual - expected| <= atol + rtol * |expected| everywhere, naming the worst element.
 * Vitest's toBeCloseTo checks one number with an absolute tolerance: this checks arrays the numpy way.
 */
export function expectClose(actual: ArrayLike<number>, expected: FixtureTensor | ArrayLike<number>, tol: Tolerance, label = ''): void {
  const want = 'data' in expected ? expected.data : expected;
  if (actual.length !== want.length) throw new Error(`${label}: ${actual.length} values, expected ${want.length}`);
  let worst = -1;
  let worstExcess = 0;
  for (let i = 0; i < want.length; i++) {
    const excess = Math.abs(actual[i]! - want[i]!) - (tol.atol + tol.rtol * Math.abs(want[i]!));
    if (!(excess <= worstExcess) || Number.isNaN(actual[i])) {
      worst = i;
      worstExcess = Number.isNaN(actual[i]) ? Infinity : excess;
    }
  }
  if (worst >= 0) {
    throw new Error(
      `${label}: element ${worst} is ${actual[worst]}, expected ${want[worst]} ` + `(rtol ${tol.rtol}, atol ${tol.atol}; ${actual.length} elements)`,
    );
  }
}

export async function expectTensorClose(actual: Tensor, expected: FixtureTensor, tol: Tolerance, label = ''): Promise<void> {
  if (actual.shape.join() !== expected.shape.join()) {
    throw new Error(`${label}: shape [${actual.shape}] expected [${expected.shape}]`);
  }
  expectClose(await actual.read(), expected, tol, label);
}
