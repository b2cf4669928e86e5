/**
 * The layers point down, checked on the source: which folders may import which. The page holds no GPU object: no
 * file of src/ui imports from src/gpu, src/tensor or shaders/, and none of the code the page loads (what src/ui
 * imports, followed through every import that is not type-only) reaches them either; the worker owns the device.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

interface Import {
  target: string;
  /** `import type`, `export type`, or braces that hold only `type` names: erased from the bundle. */
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(entry.name) && !/\.test\.ts$/.test(entry.name) ? [path] : [];
  });
}

const STATEMENT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?([^'";]*?)\s*from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  for (const m of text.matchAll(STATEMENT)) {
    const spec = m[4] ?? m[5] ?? m[6]!;
    if (!spec.startsWith('.')) continue;
    const braces = /^\{([^}]*)\}$/.exec(m[3]?.trim() ?? '');
    const onlyTypes = braces !== null && braces[1]!.split(',').every((name) => name.trim() === '' || name.trim().startsWith('type '));
    out.push({ target: relative(ROOT, resolve(dirname(file), spec)), typeOnly: Boolean(m[2]) || onlyTypes });
  }
  return out;
}

const files = sourceFiles(SRC).map((f) => relative(ROOT, f));
const graph = new Map(files.map((f) => [f, importsOf(join(ROOT, f))]));
const folderOf = (path: string): string => (path.startsWith('shaders/') ? 'shaders' : (path.split('/')[1] ?? ''));
const inFolder = (folder: string) => files.filter((f) => f.startsWith(`src/${folder}/`));

/** Every import from files of `from` into folders in `forbidden`, as "file -> target". */
function crossings(from: string, forbidden: string[]): string[] {
  return inFolder(from).flatMap((f) =>
    graph
      .get(f)!
      .filter((i) => forbidden.includes(folderOf(i.target)))
      .map((i) => `${f} -> ${i.target}`),
  );
}

describe('layers', () => {
  it('the page imports nothing from src/gpu, src/tensor or shaders/', () => {
    expect(crossings('ui', ['gpu', 'tensor', 'shaders'])).toEqual([]);
  });

  it('nor does any code the page loads: the engine worker owns the one GPU device', () => {
    const reached = new Set<string>();
    const stack = inFolder('ui');
    const via = new Map<string, string>();
    while (stack.length) {
      const file = stack.pop()!;
      if (reached.has(file)) continue;
      reached.add(file);
      for (const i of graph.get(file) ?? []) {
        // The worker is started by URL, in its own bundle: `new Worker(new URL(...))` is no import.
        if (i.typeOnly || reached.has(i.target)) continue;
        via.set(i.target, file);
        stack.push(i.target);
      }
    }
    const gpuCode = [...reached].filter((f) => ['gpu', 'tensor', 'shaders'].includes(folderOf(f))).map((f) => `${f} (imported by ${via.get(f)})`);
    expect(gpuCode).toEqual([]);
  });

  it('each lower layer imports nothing from the layers above it', () => {
    expect(crossings('gpu', ['tensor', 'nn', 'cosmos', 'eval', 'data', 'checkpoint', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('tensor', ['nn', 'cosmos', 'eval', 'data', 'checkpoint', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('nn', ['cosmos', 'eval', 'checkpoint', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('data', ['eval', 'nn', 'cosmos', 'tensor', 'gpu', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('checkpoint', ['cosmos', 'nn', 'eval', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('cosmos', ['eval', 'worker', 'ui', 'cli'])).toEqual([]);
    expect(crossings('eval', ['worker', 'ui', 'cli'])).toEqual([]);
  });

  it('kernels are dispatched from src/tensor (and the runtime in src/gpu) only: nobody else imports a shader', () => {
    const users = files.filter((f) => graph.get(f)!.some((i) => folderOf(i.target) === 'shaders')).filter((f) => !f.startsWith('src/tensor/'));
    expect(users).toEqual([]);
  });
});
