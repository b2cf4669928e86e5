/**
 * The user's own data from the command line: a folder (walked recursively) or a zip, read from disk as needed and
 * decoded with image-node.ts. Paths start with the folder's own name, as when the folder is dropped on the page,
 * so captions files and summaries read the same in both.
 */
import { openAsBlob } from 'node:fs';
import { FileError } from '../fileError.ts';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { decodeImageBlobInNode } from './image-node.ts';
import { userDataFromZip } from './userData-browser.ts';
import { loadUserData, type UserData, type UserDataOptions, type UserFile } from './userData.ts';

export type NodeUserDataOptions = Omit<UserDataOptions, 'decode' | 'name'>;

export async function userDataFromPath(path: string, options: NodeUserDataOptions): Promise<UserData> {
  const full = resolve(path);
  const info = await stat(full).catch((e: NodeJS.ErrnoException) => {
    throw new FileError(path, `${path}: cannot read it (${e.code ?? e.message})`);
  });
  const name = basename(full);
  if (info.isFile()) {
    if (!name.toLowerCase().endsWith('.zip')) throw new FileError(path, `${path} is neither a folder nor a .zip archive of images with captions`);
    return userDataFromZip(await openAsBlob(full), { ...options, decode: decodeImageBlobInNode, name });
  }
  const parent = dirname(full);
  const entries = await readdir(full, { recursive: true, withFileTypes: true });
  const files: UserFile[] = entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = join(entry.parentPath, entry.name);
      return { path: relative(parent, file).split(sep).join('/'), read: () => openAsBlob(file) };
    });
  return loadUserData(files, { ...options, decode: decodeImageBlobInNode, name });
}
