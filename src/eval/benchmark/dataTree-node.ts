/** A folder on disk as a DataTree: walked once when its paths are first asked for, files opened as they are read. */
import { openAsBlob } from 'node:fs';
import { access, readdir } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { type DataTree, byCodeUnits, normalisePath } from './dataTree.ts';

export function folderTree(root: string, name = basename(root)): DataTree {
  let listed: Promise<string[]> | null = null;
  return {
    name,
    paths() {
      listed ??= readdir(root, { recursive: true, withFileTypes: true }).then(
        (entries) =>
          entries
            .filter((entry) => entry.isFile())
            .map((entry) => relative(root, join(entry.parentPath, entry.name)).split(sep).join('/'))
            .sort(byCodeUnits),
        (e: NodeJS.ErrnoException) => {
          throw new Error(`${root}: cannot list the folder (${e.code ?? e.message})`);
        },
      );
      return listed;
    },
    exists: (path) =>
      access(join(root, normalisePath(path))).then(
        () => true,
        () => false,
      ),
    async read(path) {
      const full = join(root, normalisePath(path));
      try {
        return await openAsBlob(full);
      } catch (e) {
        throw new Error(`${full}: cannot read it (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    },
  };
}
