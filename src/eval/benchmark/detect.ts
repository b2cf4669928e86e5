/**
 * Which layout a chosen folder, zip or set of shards is, for a task: what the page's Evaluate tab reads, where the
 * CLI is told by its flags. Retrieval: COCO (annotations/captions_val2017.json) or Flickr30k (flickr30k_test.json),
 * or shards; classification: ImageNet wnid folders, other class folders (with classnames.json and templates.json
 * beside them if present), or shards with cls labels and a classnames.json; segmentation: a folder with
 * classes.txt, images/ and labels/.
 */
import type { Shard } from '../../data/webdataset.ts';
import { cocoSource, findCocoRoot } from './coco.ts';
import { type DataTree, folderOf, joinPath } from './dataTree.ts';
import { findFlickrJson, flickrSource } from './flickr.ts';
import { folderSource, imagenetSource, looksLikeImagenet } from './imageFolders.ts';
import { parseClassesFile, segmentationSource } from './segmentationSet.ts';
import { shardClassificationSource, shardRetrievalSource } from './shardSet.ts';
import { type EvalSource, readJson } from './source.ts';
import { IMAGENET_TEMPLATES } from '../templates.ts';

export type EvalTask = 'retrieval' | 'classification' | 'segmentation';

/** The shallowest file of the tree with this name. */
async function shallowest(tree: DataTree, name: string): Promise<string | null> {
  const found = (await tree.paths()).filter((path) => path === name || path.endsWith(`/${name}`));
  found.sort((a, b) => a.split('/').length - b.split('/').length);
  return found[0] ?? null;
}

async function optionalJson(tree: DataTree, name: string): Promise<{ value: unknown; file: string } | null> {
  const path = await shallowest(tree, name);
  return path === null ? null : { value: await readJson(() => tree.read(path), `${tree.name}/${path}`), file: path };
}

/**
 * The evaluation source of `tree` for `task`; `shards`, when the user chose .tar files, are read as webdataset
 * shards (the tree then holds the other files chosen with them, such as classnames.json).
 */
export async function detectSource(task: EvalTask, tree: DataTree, shards: readonly Shard[]): Promise<EvalSource> {
  if (shards.length > 0) {
    if (task === 'retrieval') return shardRetrievalSource(shards);
    if (task === 'classification') {
      const names = await optionalJson(tree, 'classnames.json');
      if (!names || !Array.isArray(names.value) || !names.value.every((n) => typeof n === 'string')) {
        throw new Error('shards with cls labels need a classnames.json (a list of class names) chosen with them');
      }
      const templates = await optionalJson(tree, 'templates.json');
      return shardClassificationSource(shards, names.value as string[], (templates?.value as string[] | undefined) ?? IMAGENET_TEMPLATES);
    }
    throw new Error('segmentation reads a folder with classes.txt, images/ and labels/, not shards');
  }
  if (task === 'retrieval') {
    const coco = await findCocoRoot(tree);
    if (coco !== null) return cocoSource(tree, coco);
    const flickr = await findFlickrJson(tree);
    if (flickr !== null) return flickrSource(tree, flickr);
    throw new Error(`${tree.name} holds neither annotations/captions_val2017.json (COCO) nor flickr30k_test.json (Flickr30k), nor shards (.tar)`);
  }
  if (task === 'classification') {
    if (await looksLikeImagenet(tree)) return imagenetSource(tree);
    const classNames = await optionalJson(tree, 'classnames.json');
    const templates = await optionalJson(tree, 'templates.json');
    return folderSource(tree, {
      ...(classNames ? { classNames: classNames.value, classNamesFile: classNames.file } : {}),
      ...(templates ? { templates: templates.value, templatesFile: templates.file } : {}),
    });
  }
  const classesFile = await shallowest(tree, 'classes.txt');
  if (classesFile === null) throw new Error(`${tree.name} has no classes.txt: segmentation needs classes.txt, images/ and labels/ in one folder`);
  const root = folderOf(classesFile);
  const classes = parseClassesFile(await (await tree.read(classesFile)).text(), classesFile);
  return segmentationSource(tree, joinPath(root, 'images'), tree, joinPath(root, 'labels'), classes);
}
