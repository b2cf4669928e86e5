/**
 * COCO captions for retrieval, laid out as the COSMOS reference reads them (src/training/data.py, read_coco_pairs):
 * `annotations/captions_val2017.json` and the images in `images/val2017/`. The images are those the annotations
 * caption, in the order of their first caption (extract_unique_img_list_from_data_list); each image's captions in
 * the annotations' order (5,000 images and 25,014 captions for val2017).
 */
import { type DataTree, folderOf, joinPath } from './dataTree.ts';
import { type EvalImage, type EvalSource, listedImages, readJson } from './source.ts';

export const COCO_CAPTIONS = 'annotations/captions_val2017.json';
export const COCO_IMAGES = 'images/val2017';

interface CocoJson {
  images: { id: number; file_name: string }[];
  annotations: { image_id: number; caption: string }[];
}

function checkShape(json: unknown, where: string): asserts json is CocoJson {
  const o = json as Partial<CocoJson>;
  const ok =
    typeof json === 'object' &&
    json !== null &&
    Array.isArray(o.images) &&
    Array.isArray(o.annotations) &&
    o.images.every((i) => typeof i?.id === 'number' && typeof i.file_name === 'string') &&
    o.annotations.every((a) => typeof a?.image_id === 'number' && typeof a.caption === 'string');
  if (!ok) throw new Error(`${where} is not a COCO captions file: it needs "images" ({"id", "file_name"}) and "annotations" ({"image_id", "caption"})`);
}

/** The folder of the tree that holds annotations/captions_val2017.json (the tree's root, or the one folder below). */
export async function findCocoRoot(tree: DataTree): Promise<string | null> {
  const found = (await tree.paths()).filter((path) => path === COCO_CAPTIONS || path.endsWith(`/${COCO_CAPTIONS}`));
  found.sort((a, b) => a.length - b.length);
  return found[0] === undefined ? null : folderOf(folderOf(found[0]));
}

export async function cocoSource(tree: DataTree, root = ''): Promise<EvalSource> {
  const where = `${tree.name}/${joinPath(root, COCO_CAPTIONS)}`;
  const json = await readJson(() => tree.read(joinPath(root, COCO_CAPTIONS)), where);
  checkShape(json, where);
  const files = new Map(json.images.map((image) => [image.id, image.file_name]));
  const byImage = new Map<number, string[]>();
  let unknown = 0;
  for (const { image_id: id, caption } of json.annotations) {
    if (!files.has(id)) {
      unknown++;
      continue;
    }
    const list = byImage.get(id) ?? [];
    list.push(caption);
    byImage.set(id, list);
  }
  const images: EvalImage[] = [...byImage].map(([id, captions]) => {
    const path = joinPath(root, `${COCO_IMAGES}/${files.get(id)!}`);
    return { where: path, read: () => tree.read(path), captions };
  });
  const skipped = unknown > 0 ? [{ path: where, reason: `${unknown} captions name an image id the file does not list` }] : [];
  const captionCount = images.reduce((n, image) => n + image.captions!.length, 0);
  return { name: `COCO ${COCO_CAPTIONS} (${images.length} images, ${captionCount} captions)`, layout: 'coco', skipped, ...listedImages(images) };
}
