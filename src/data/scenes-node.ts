/** Loads the shipped emoji-scene atlas (public/scenes/) from disk, for Node: tests, the CLI, benchmarks. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { SCENE_INDEX_FILE, sceneAtlas, type SceneAtlas, type SceneIndexFile } from './scenes.ts';

export const PUBLIC_SCENES_DIR = join(import.meta.dirname, '..', '..', 'public', 'scenes');

export async function loadSceneAtlasFromDisk(dir = PUBLIC_SCENES_DIR): Promise<SceneAtlas> {
  const index = JSON.parse(await readFile(join(dir, SCENE_INDEX_FILE), 'utf8')) as SceneIndexFile;
  const png = pngjs.PNG.sync.read(await readFile(join(dir, index.atlas.file)));
  return sceneAtlas(index, new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength), png.width, png.height);
}
