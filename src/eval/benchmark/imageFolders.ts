/**
 * Classification data sets as folders of images, one folder per class (torchvision's ImageFolder):
 *
 * - ImageNet: `<wnid>/*.JPEG` folders (the reference's `imagenet/data/val_images`), each WordNet id one of
 *   ImageNet-1k's 1,000 classes, named as OpenAI names them (imagenet-classes.json); every image is scored against
 *   all 1,000 classes whatever subset of folders is there.
 * - any other classes: the folders in code-unit order (ImageFolder's sorted order) are the classes, named by the
 *   folders (underscores read as spaces) or by a class-names file; the 80 OpenAI templates unless a templates file
 *   gives others.
 */
import type { SkippedFile } from '../../data/userData.ts';
import { IMAGENET_TEMPLATES } from '../templates.ts';
import { type DataTree, byCodeUnits, folderOf, joinPath } from './dataTree.ts';
import imagenetClasses from './imagenet-classes.json';
import { type ClassificationSource, type EvalImage, isImagePath, listedImages } from './source.ts';

const WNID = /^n\d{8}$/;
export const IMAGENET_CLASSES = imagenetClasses as [string, string][];

/** The class folders of the tree: the folders that hold images directly, grouped by the folder above them. */
async function classFolders(tree: DataTree): Promise<{ root: string; folders: Map<string, string[]> }> {
  const byParent = new Map<string, Map<string, string[]>>();
  for (const path of await tree.paths()) {
    if (!isImagePath(path)) continue;
    const folder = folderOf(path);
    if (folder === '') continue;
    const parent = folderOf(folder);
    const folders = byParent.get(parent) ?? new Map<string, string[]>();
    byParent.set(parent, folders);
    const name = folder.slice(folder.lastIndexOf('/') + 1);
    folders.set(name, [...(folders.get(name) ?? []), path]);
  }
  if (byParent.size === 0) throw new Error(`${tree.name} has no class folders: no image sits in a folder`);
  if (byParent.size > 1) {
    const parents = [...byParent.keys()].map((p) => p || '(the top)');
    throw new Error(
      `${tree.name} has images in folders under ${parents.length} different places (${parents.slice(0, 3).join(', ')}): give the folder whose subfolders are the classes`,
    );
  }
  const [root, folders] = [...byParent][0]!;
  return { root, folders: new Map([...folders].sort(([a], [b]) => byCodeUnits(a, b))) };
}

function imagesOf(tree: DataTree, folders: Map<string, string[]>, labelOf: (folder: string) => number): EvalImage[] {
  return [...folders].flatMap(([folder, paths]) =>
    paths.sort(byCodeUnits).map((path) => ({ where: path, read: () => tree.read(path), label: labelOf(folder) })),
  );
}

/** Whether the tree's class folders are ImageNet WordNet ids. */
export async function looksLikeImagenet(tree: DataTree): Promise<boolean> {
  const { folders } = await classFolders(tree);
  return [...folders.keys()].every((name) => WNID.test(name));
}

export async function imagenetSource(tree: DataTree): Promise<ClassificationSource> {
  const { root, folders } = await classFolders(tree);
  const index = new Map(IMAGENET_CLASSES.map(([wnid], i) => [wnid, i]));
  const unknown = [...folders.keys()].filter((name) => !index.has(name));
  if (unknown.length > 0) {
    throw new Error(
      `${tree.name}/${joinPath(root, unknown[0]!)} is not one of ImageNet-1k's 1,000 WordNet ids (n01440764 ... n15075141)${unknown.length > 1 ? `, nor are ${unknown.length - 1} other folders` : ''}`,
    );
  }
  const images = imagesOf(tree, folders, (wnid) => index.get(wnid)!);
  return {
    name: `ImageNet (${images.length} images in ${folders.size} of the 1,000 classes)`,
    layout: 'imagenet',
    skipped: [],
    classNames: IMAGENET_CLASSES.map(([, name]) => name),
    templates: IMAGENET_TEMPLATES,
    ...listedImages(images),
  };
}

export interface FolderOptions {
  /** A class-names file's parsed JSON: a list in the folders' order, or an object from folder name to class name. */
  classNames?: unknown;
  /** A templates file's parsed JSON: a list of prompts with `{}` (or CLIP_benchmark's `{c}`) for the class name. */
  templates?: unknown;
  /** Names the files in errors. */
  classNamesFile?: string;
  templatesFile?: string;
}

function namesFor(folders: string[], given: unknown, file: string): string[] {
  if (given === undefined) return folders.map((folder) => folder.replace(/_/g, ' '));
  if (Array.isArray(given)) {
    if (given.length !== folders.length || !given.every((n) => typeof n === 'string' && n.trim() !== '')) {
      throw new Error(
        `${file} lists ${given.length} class names; the data set has ${folders.length} class folders (${folders.slice(0, 3).join(', ')}, ...), so it needs ${folders.length} names in that order`,
      );
    }
    return given as string[];
  }
  if (typeof given === 'object' && given !== null) {
    const map = given as Record<string, unknown>;
    const missing = folders.find((folder) => typeof map[folder] !== 'string');
    if (missing !== undefined) throw new Error(`${file} names no class for the folder ${missing}`);
    return folders.map((folder) => map[folder] as string);
  }
  throw new Error(`${file} must be a JSON list of class names, or an object from folder name to class name`);
}

/** CLIP_benchmark writes `{c}` where OpenAI's templates write `{}`. */
function templatesFor(given: unknown, file: string): readonly string[] {
  if (given === undefined) return IMAGENET_TEMPLATES;
  const list = Array.isArray(given) ? given : null;
  if (!list || list.length === 0 || !list.every((t) => typeof t === 'string' && (t.includes('{}') || t.includes('{c}')))) {
    throw new Error(`${file} must be a JSON list of prompt templates, each with {} (or {c}) where the class name goes`);
  }
  return (list as string[]).map((t) => t.replace('{c}', '{}'));
}

export async function folderSource(tree: DataTree, options: FolderOptions = {}): Promise<ClassificationSource> {
  const { folders } = await classFolders(tree);
  const names = [...folders.keys()];
  if (names.length < 2) throw new Error(`${tree.name} has ${names.length} class folder; zero-shot classification needs at least 2`);
  const classNames = namesFor(names, options.classNames, options.classNamesFile ?? 'the class names');
  const templates = templatesFor(options.templates, options.templatesFile ?? 'the templates');
  const labelOf = new Map(names.map((name, i) => [name, i]));
  const images = imagesOf(tree, folders, (folder) => labelOf.get(folder)!);
  const skipped: SkippedFile[] = [];
  return {
    name: `${tree.name} (${images.length} images in ${names.length} class folders)`,
    layout: 'folders',
    skipped,
    classNames,
    templates,
    ...listedImages(images),
  };
}
