/**
 * What an evaluation runs over: images, each with what it is scored against (its captions, its class, its label
 * map), read one by one as the run needs them. The layout readers (coco.ts, flickr.ts, imageFolders.ts,
 * segmentationSet.ts, shardSet.ts) make them from the user's files.
 */
import type { SkippedFile } from '../../data/userData.ts';

export interface EvalImage {
  /** Names the image in listings: its path, or "shard.tar:key". */
  where: string;
  read(): Promise<Blob>;
  /** Retrieval: its captions. */
  captions?: readonly string[];
  /** Classification: its class index. */
  label?: number;
  /** Segmentation: where its label map is, and how to read it. */
  labelMap?: { where: string; read(): Promise<Blob> };
}

export interface EvalSource {
  /** The data set, in a few words: "COCO captions_val2017.json (5,000 images)". */
  readonly name: string;
  /** What kind of layout it is: coco, flickr, imagenet, folders, segmentation, webdataset. */
  readonly layout: string;
  /** How many images `images` yields, when that is known before reading them (not for shards). */
  readonly total: number | null;
  /** Problems found in the layout before any image is read (a caption naming no image, an image with no label map). */
  readonly skipped: SkippedFile[];
  /** The images in order; `skip` hears of what is passed over while they stream (a shard's bad members). */
  images(skip: (s: SkippedFile) => void, onBytes?: (bytes: number, total: number) => void): AsyncIterable<EvalImage>;
}

export interface ClassificationSource extends EvalSource {
  readonly classNames: readonly string[];
  /** Prompt templates, `{}` standing for the class name. */
  readonly templates: readonly string[];
}

export interface SegmentationSource extends EvalSource {
  /** Per class (label value), its names: each one a query, the class scoring as its best query (SCLIP). */
  readonly classes: readonly (readonly string[])[];
}

/** A source over a list known in advance. */
export function listedImages(images: readonly EvalImage[]): Pick<EvalSource, 'total' | 'images'> {
  return {
    total: images.length,
    async *images() {
      yield* images;
    },
  };
}

/** The extensions of images the evaluation decodes. */
export const EVAL_IMAGE_EXTENSIONS = ['.jpg', '.jpeg', '.png', '.webp'];

export const isImagePath = (path: string): boolean => EVAL_IMAGE_EXTENSIONS.some((ext) => path.toLowerCase().endsWith(ext));

/** A JSON file of the tree, parsed, or a sentence naming it and what is wrong. */
export async function readJson(read: () => Promise<Blob>, where: string): Promise<unknown> {
  let text: string;
  try {
    text = await (await read()).text();
  } catch (e) {
    throw new Error(`${where}: cannot read it (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new Error(`${where} is not valid JSON (${(e as Error).message})`);
  }
}
