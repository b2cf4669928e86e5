/**
 * The files of an evaluation data set, however the user holds it: a folder on disk (the CLI, dataTree-node.ts), or a
 * folder or zip chosen in the page (its files as the browser lists them). Layout readers (coco.ts, flickr.ts, ...)
 * find their files by path and read them only when an image is needed.
 */
import type { UserFile } from '../../data/userData.ts';

export interface DataTree {
  /** What the user chose, for messages. */
  readonly name: string;
  /** Every file's path relative to the tree's root, '/'-separated, in code-unit order. */
  paths(): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  /** The file's contents; rejects with a sentence naming the file when it cannot be read. */
  read(path: string): Promise<Blob>;
}

/** '/' separators, no empty or '.' segments, '..' resolved (never above the root). */
export function normalisePath(path: string): string {
  const parts: string[] = [];
  for (const part of path.replace(/\\/g, '/').split('/')) {
    if (part === '..') parts.pop();
    else if (part !== '' && part !== '.') parts.push(part);
  }
  return parts.join('/');
}

/** The folder part of a path, '' at the root. */
export const folderOf = (path: string): string => path.slice(0, Math.max(0, path.lastIndexOf('/')));
export const joinPath = (folder: string, path: string): string => normalisePath(folder === '' ? path : `${folder}/${path}`);
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A tree of files the page was given (a chosen folder's, a zip's entries): paths as the browser names them. */
export function treeOfFiles(name: string, files: readonly UserFile[]): DataTree {
  const byPath = new Map(files.map((file) => [normalisePath(file.path), file]));
  const sorted = [...byPath.keys()].sort(byCodeUnits);
  return {
    name,
    paths: async () => sorted,
    exists: async (path) => byPath.has(normalisePath(path)),
    async read(path) {
      const file = byPath.get(normalisePath(path));
      if (!file) throw new Error(`${name} has no file ${path}`);
      return file.read();
    },
  };
}

/** The paths under `folder` (all of them for ''), relative to it. */
export async function pathsUnder(tree: DataTree, folder: string): Promise<string[]> {
  const prefix = folder === '' ? '' : `${normalisePath(folder)}/`;
  return (await tree.paths()).filter((path) => path.startsWith(prefix)).map((path) => path.slice(prefix.length));
}
