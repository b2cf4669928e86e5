/**
 * A segmentation data set: a folder of images, a folder of label maps (PNGs of class indices, 255 ignored; one per
 * image, same name but the extension, in the same subfolders), and a classes file with one class per line, its
 * label value the line's index. As in SCLIP's and the COSMOS reference's class files (cls_voc21.txt, ...), a line
 * may give several names separated by ", ": each is a query, and the class scores as its best query.
 */
import type { SkippedFile } from '../../data/userData.ts';
import { type DataTree, byCodeUnits, joinPath, pathsUnder } from './dataTree.ts';
import { type EvalImage, type SegmentationSource, isImagePath, listedImages } from './source.ts';

/** The classes of a classes file: per line, its names (", "-separated). Blank lines at the end are not classes. */
export function parseClassesFile(text: string, where: string): string[][] {
  const lines = text.replace(/\r\n?/g, '\n').replace(/\n+$/, '').split('\n');
  const classes = lines.map((line) =>
    line
      .split(', ')
      .map((name) => name.trim())
      .filter((name) => name !== ''),
  );
  const blank = classes.findIndex((names) => names.length === 0);
  if (blank >= 0) throw new Error(`${where}: line ${blank + 1} names no class (every line is a class, its label value the line's index)`);
  if (classes.length < 2) throw new Error(`${where} lists ${classes.length} class; segmentation needs at least 2`);
  const first = classes.map((names) => names[0]!);
  const twice = first.findIndex((name, i) => first.indexOf(name) !== i);
  if (twice >= 0)
    throw new Error(
      `${where}: lines ${first.indexOf(first[twice]!) + 1} and ${twice + 1} both start with "${first[twice]}"; give each class its own first name`,
    );
  return classes;
}

const stemOf = (path: string) => path.replace(/\.[^./]*$/, '');

/**
 * The label maps under `labels` of `labelTree`, each with the image of the same stem under `images` of `imageTree`
 * (the two may be one tree). A label map without an image is listed as skipped; images without labels are not part
 * of the set (an image folder may hold more images than were annotated, as VOC's JPEGImages does).
 */
export async function segmentationSource(
  imageTree: DataTree,
  images: string,
  labelTree: DataTree,
  labels: string,
  classes: string[][],
): Promise<SegmentationSource> {
  const imagesByStem = new Map<string, string>();
  for (const path of (await pathsUnder(imageTree, images)).sort(byCodeUnits)) {
    if (isImagePath(path) && !imagesByStem.has(stemOf(path))) imagesByStem.set(stemOf(path), path);
  }
  const skipped: SkippedFile[] = [];
  const items: EvalImage[] = [];
  for (const path of (await pathsUnder(labelTree, labels)).sort(byCodeUnits)) {
    if (!path.toLowerCase().endsWith('.png')) continue;
    const labelPath = joinPath(labels, path);
    const image = imagesByStem.get(stemOf(path));
    if (!image) {
      skipped.push({ path: labelPath, reason: `no image named ${stemOf(path)} (.jpg, .jpeg, .png or .webp) in ${images || imageTree.name}` });
      continue;
    }
    const imagePath = joinPath(images, image);
    items.push({
      where: imagePath,
      read: () => imageTree.read(imagePath),
      labelMap: { where: labelPath, read: () => labelTree.read(labelPath) },
    });
  }
  if (items.length === 0)
    throw new Error(`no label map (.png) under ${labels || labelTree.name} has an image of the same name under ${images || imageTree.name}`);
  return { name: `${items.length} labelled images, ${classes.length} classes`, layout: 'segmentation', skipped, classes, ...listedImages(items) };
}
