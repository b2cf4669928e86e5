/**
 * Settings in the URL, so that a view can be shared and a reload keeps it: `?preset=tiny&mode=clip&scenes=teaching&views=teaching
 * &lr=0.0005&batch=16&steps=300&local=2&momentum=0.99&eval=25&freeze=1&tab=views`. Only values that differ from the defaults are written; a
 * value that does not parse or lies out of range is ignored (the default stands).
 */
import type { TrainMode } from '../cosmos/objective.ts';
import { TINY_TRAINING } from '../cosmos/trainingOptions.ts';
import type { SceneKinds } from '../data/scenes.ts';
import type { ViewRecipeName } from '../cosmos/views/augment.ts';

export const TABS = ['train', 'views', 'attention', 'compare', 'retrieval', 'zeroshot', 'segment', 'evaluate', 'checkpoints'] as const;
export type Tab = (typeof TABS)[number];

/** The presets a user picks from (the ViT-B ones come from loading a released checkpoint). */
export const TRAIN_PRESETS = ['tiny', 'small'] as const;
export type TrainPreset = (typeof TRAIN_PRESETS)[number];
export const MODES: readonly TrainMode[] = ['cosmos', 'clip'];
export const SCENE_KINDS: readonly SceneKinds[] = ['all', 'teaching'];
export const VIEW_RECIPE_NAMES: readonly ViewRecipeName[] = ['cosmos', 'teaching'];

export interface TrainSettings {
  preset: TrainPreset;
  mode: TrainMode;
  lr: number;
  batchSize: number;
  steps: number;
  /** Local views per sample, of the image and of the caption. */
  localCount: number;
  /** Teacher EMA momentum. */
  momentum: number;
  /** Held-out retrieval every this many steps. */
  evalEvery: number;
  /** Train only the cross-attention poolers, mappings and projections (fine-tuning a loaded checkpoint). */
  freezeTowers: boolean;
  /** The built-in scenes trained on: every emoji, or the 24 of the teaching set. */
  scenes: SceneKinds;
  /** How image views are drawn: COSMOS's recipe, or the teaching one that keeps the scenes' captions true. */
  views: ViewRecipeName;
}

export interface UrlState {
  settings: TrainSettings;
  tab: Tab;
}

/** The tiny preset's training settings, as the CLI uses them. */
export const DEFAULT_SETTINGS: TrainSettings = {
  preset: 'tiny',
  mode: TINY_TRAINING.mode,
  lr: TINY_TRAINING.lr,
  batchSize: TINY_TRAINING.batchSize,
  steps: TINY_TRAINING.steps,
  localCount: TINY_TRAINING.localCount,
  momentum: TINY_TRAINING.momentum,
  evalEvery: 25,
  freezeTowers: TINY_TRAINING.freezeTowers,
  scenes: TINY_TRAINING.scenes,
  views: TINY_TRAINING.views,
};

type NumberKey = 'lr' | 'batchSize' | 'steps' | 'localCount' | 'momentum' | 'evalEvery';

/** URL key and accepted range of each number; `integer` ones must be whole. */
export const NUMBER_FIELDS: Record<NumberKey, { key: string; min: number; max: number; integer: boolean }> = {
  lr: { key: 'lr', min: 1e-7, max: 1, integer: false },
  // A contrastive batch needs at least two pairs.
  batchSize: { key: 'batch', min: 2, max: 1024, integer: true },
  steps: { key: 'steps', min: 1, max: 1_000_000, integer: true },
  localCount: { key: 'local', min: 0, max: 8, integer: true },
  momentum: { key: 'momentum', min: 0, max: 1, integer: false },
  evalEvery: { key: 'eval', min: 1, max: 1_000_000, integer: true },
};

/** The value if it is a number in the field's range, else null. */
export function validNumber(field: NumberKey, raw: string | number | null): number | null {
  if (raw === null || raw === '') return null;
  const value = Number(raw);
  const { min, max, integer } = NUMBER_FIELDS[field];
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) return null;
  return value;
}

const oneOf = <T extends string>(options: readonly T[], raw: string | null): T | null =>
  raw !== null && (options as readonly string[]).includes(raw) ? (raw as T) : null;

export function parseUrl(search: string): UrlState {
  const params = new URLSearchParams(search);
  const settings: TrainSettings = { ...DEFAULT_SETTINGS };
  settings.preset = oneOf(TRAIN_PRESETS, params.get('preset')) ?? settings.preset;
  settings.mode = oneOf(MODES, params.get('mode')) ?? settings.mode;
  settings.scenes = oneOf(SCENE_KINDS, params.get('scenes')) ?? settings.scenes;
  settings.views = oneOf(VIEW_RECIPE_NAMES, params.get('views')) ?? settings.views;
  const freeze = params.get('freeze');
  if (freeze === '1' || freeze === '0') settings.freezeTowers = freeze === '1';
  for (const field of Object.keys(NUMBER_FIELDS) as NumberKey[]) {
    settings[field] = validNumber(field, params.get(NUMBER_FIELDS[field].key)) ?? settings[field];
  }
  return { settings, tab: oneOf(TABS, params.get('tab')) ?? 'train' };
}

/**
 * "?mode=clip&batch=16": the values that differ from the defaults, after the parameters of `current` that are not
 * ours (a panel's own); "" when there is nothing to say.
 */
export function urlSearch({ settings, tab }: UrlState, current = ''): string {
  const params = new URLSearchParams(current);
  const put = (key: string, value: string, fallback: string) => (value === fallback ? params.delete(key) : params.set(key, value));
  put('preset', settings.preset, DEFAULT_SETTINGS.preset);
  put('mode', settings.mode, DEFAULT_SETTINGS.mode);
  put('scenes', settings.scenes, DEFAULT_SETTINGS.scenes);
  put('views', settings.views, DEFAULT_SETTINGS.views);
  put('freeze', settings.freezeTowers ? '1' : '0', DEFAULT_SETTINGS.freezeTowers ? '1' : '0');
  for (const field of Object.keys(NUMBER_FIELDS) as NumberKey[]) {
    put(NUMBER_FIELDS[field].key, String(settings[field]), String(DEFAULT_SETTINGS[field]));
  }
  put('tab', tab, 'train');
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Replaces the address (no new history entry per keystroke), keeping the path, the hash and others' parameters. */
export function writeUrl(state: UrlState): void {
  const { pathname, search, hash } = window.location;
  window.history.replaceState(window.history.state, '', `${pathname}${urlSearch(state, search)}${hash}`);
}
