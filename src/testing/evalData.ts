/** Test support: the small data sets of scripts/make-eval-datasets.py in fixtures/eval-data, and what they hold. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const EVAL_DATA = join(import.meta.dirname, '..', '..', 'fixtures', 'eval-data');

export interface EvalTruth {
  coco: { image: string; captions: string[] }[];
  flickr: { image: string; captions: string[] }[];
  imagenet: { image: string; wnid: string }[];
  folders: { class_names_from_folders: string[]; images: { image: string; label: number }[] };
  segmentation: { classes: string[][]; items: { image: string; label: string; width: number; height: number; labels: number[] }[] };
  shards: {
    samples: { key: string; captions: string[]; text_crops: string[] | null; webp?: boolean }[];
    cls: { key: string; label: number }[];
  };
  tar_formats: Record<string, string>;
}

export const evalTruth = (): EvalTruth => JSON.parse(readFileSync(join(EVAL_DATA, 'truth.json'), 'utf8')) as EvalTruth;

/** A file of fixtures/eval-data as a Blob. */
export const evalFile = (path: string): Blob => new Blob([readFileSync(join(EVAL_DATA, path))]);
