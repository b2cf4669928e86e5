/**
 * The user's own data from the command line: a folder (walked recursively), a zip, or webdataset shards ("a.tar,b.tar",
 * "shards-{0000..0009}.tar"), read from disk as needed and decoded with image-node.ts. Paths start with the folder's
 * own name, as when the folder is dropped on the page, so captions files and summaries read the same in both.
 */
import { openAsBlob } from 'node:fs';
import { FileError } from '../fileError.ts';
import { readdir, stat } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { decodeImageBlobInNode } from './image-node.ts';
import { withZipFiles } from './userData-browser.ts';
import { loadUserData, type UserData, type UserDataOptions, type UserFile } from './userData.ts';
import { shardTrainingData } from './shardData.ts';
import { namesShards, shardPaths } from './shardList.ts';
import type { Shard } from './webdataset.ts';

/** The shards a --data value names, each opened as a Blob read from disk as it streams. */
export async function openShards(spec: string): Promise<Shard[]> {
  return Promise.all(
    shardPaths(spec).map(async (path) => {
      try {
        return { name: path, blob: await openAsBlob(path) };
      } catch (e) {
        throw new Error(`${path}: cannot read the shard (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
      }
    }),
  );
}

export type NodeUserDataOptions = Omit<UserDataOptions, 'decode' | 'name'>;

export async function userDataFromPath(path: string, options: NodeUserDataOptions): Promise<UserData> {
  if (namesShards(path)) {
    const shards = await openShards(path);
    return shardTrainingData(shards, {
      ...options,
      decode: decodeImageBlobInNode,
      name: basename(shards[0]!.name) + (shards.length > 1 ? ` and ${shards.length - 1} more shards` : ''),
    });
  }
  return withDataFiles(path, (files, name) => loadUserData(files, { ...options, decode: decodeImageBlobInNode, name }));
}

/**
 * Runs `use` on the files of a folder (walked recursively, paths starting with its name) or of a zip (entries
 * inflated as they are read), `name` the folder's or the zip's.
 */
export async function withDataFiles<T>(path: string, use: (files: UserFile[], name: string) => Promise<T>): Promise<T> {
  const full = resolve(path);
  const info = await stat(full).catch((e: NodeJS.ErrnoException) => {
    throw new FileError(path, `${path}: cannot read it (${e.code ?? e.message})`);
  });
  const name = basename(full);
  if (info.isFile()) {
    if (!name.toLowerCase().endsWith('.zip')) throw new FileError(path, `${path} is neither a folder nor a .zip archive of images with captions`);
    return withZipFiles(await openAsBlob(full), name, undefined, (files) => use(files, name));
  }
  const parent = dirname(full);
  const entries = await readdir(full, { recursive: true, withFileTypes: true });
  const files: UserFile[] = entries
    .filter((entry) => entry.isFile())
    .map((entry) => {
      const file = join(entry.parentPath, entry.name);
      return { path: relative(parent, file).split(sep).join('/'), read: () => openAsBlob(file) };
    });
  return use(files, name);
}
