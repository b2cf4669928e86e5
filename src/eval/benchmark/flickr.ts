/**
 * Flickr30k for retrieval as the COSMOS reference reads it (src/training/data.py, read_flickr_pairs): a JSON list
 * `[{"image": "flickr30k-images/x.jpg", "caption": [5 captions]}]` (flickr30k_test.json), image paths resolved against
 * the file's folder, then against its parent (the reference keeps the file inside flickr30k-images/ and joins the
 * paths to that folder's parent). Images in the file's order, captions in each entry's order.
 */
import type { SkippedFile } from '../../data/userData.ts';
import { type DataTree, folderOf, joinPath } from './dataTree.ts';
import { type EvalImage, type EvalSource, listedImages, readJson } from './source.ts';

export const FLICKR_TEST = 'flickr30k_test.json';

/** The tree's flickr30k_test.json (the shallowest), else its only flickr30k_*.json. */
export async function findFlickrJson(tree: DataTree): Promise<string | null> {
  const paths = await tree.paths();
  const named = (test: (name: string) => boolean) =>
    paths.filter((path) => test(path.slice(path.lastIndexOf('/') + 1))).sort((a, b) => a.split('/').length - b.split('/').length || (a < b ? -1 : 1));
  const test = named((name) => name === FLICKR_TEST);
  if (test[0]) return test[0];
  const any = named((name) => /^flickr30k_.*\.json$/.test(name));
  return any.length === 1 ? any[0]! : null;
}

export async function flickrSource(tree: DataTree, jsonPath: string): Promise<EvalSource> {
  const where = `${tree.name}/${jsonPath}`;
  const json = await readJson(() => tree.read(jsonPath), where);
  const entries = Array.isArray(json) ? json : null;
  const valid = entries?.every(
    (e) =>
      typeof e?.image === 'string' && (typeof e.caption === 'string' || (Array.isArray(e.caption) && e.caption.every((c: unknown) => typeof c === 'string'))),
  );
  if (!entries || !valid) throw new Error(`${where} is not a Flickr30k captions file: it needs a list of {"image": path, "caption": [captions]}`);
  const folder = folderOf(jsonPath);
  const skipped: SkippedFile[] = [];
  const images: EvalImage[] = [];
  for (const entry of entries as { image: string; caption: string | string[] }[]) {
    const captions = (Array.isArray(entry.caption) ? entry.caption : [entry.caption]).filter((c) => c.trim() !== '');
    const candidates = [joinPath(folder, entry.image), joinPath(folderOf(folder), entry.image)];
    let path: string | undefined;
    for (const candidate of candidates) {
      if (await tree.exists(candidate)) {
        path = candidate;
        break;
      }
    }
    if (!path) skipped.push({ path: entry.image, reason: `named in ${jsonPath}, but neither ${candidates.join(' nor ')} exists` });
    else if (captions.length === 0) skipped.push({ path, reason: `has no caption in ${jsonPath}` });
    else {
      const found = path;
      images.push({ where: found, read: () => tree.read(found), captions });
    }
  }
  const captionCount = images.reduce((n, image) => n + image.captions!.length, 0);
  return { name: `Flickr30k ${jsonPath} (${images.length} images, ${captionCount} captions)`, layout: 'flickr', skipped, ...listedImages(images) };
}
