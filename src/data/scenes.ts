/**
 * The built-in data set: emoji scenes with long captions, composed at load time from one shipped sprite atlas
 * (public/scenes/, made by scripts/build-scenes.mjs). A scene is a named procedural background plus 1-4 emoji,
 * each with a size class and a cell of a 3x3 grid; its caption has one sentence per object and one for the
 * background. Everything here is pure TS shared by the browser and Node, except `loadSceneAtlas` (browser fetch
 * and decode); Node reads the atlas from disk in scenes-node.ts.
 */
import { type Random, rng } from './random.ts';
import type { RgbImage } from './image.ts';

export const SCENE_INDEX_FILE = 'emoji.json';

export interface EmojiEntry {
  /** What captions call it ("red apple", "pair of socks"). */
  name: string;
  category: string;
  /** Top-left corner of its sprite in the atlas. */
  x: number;
  y: number;
}

/** The decoded atlas: emoji index i has class id i + 1 in masks (0 is the background). */
export interface SceneAtlas {
  /** Side of one square sprite, in atlas pixels. */
  sprite: number;
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel, row-major, straight (not premultiplied) alpha. */
  rgba: Uint8Array;
  emoji: EmojiEntry[];
}

/** public/scenes/emoji.json as the builder writes it. */
export interface SceneIndexFile {
  sprite: number;
  atlas: { file: string; width: number; height: number };
  emoji: EmojiEntry[];
}

/** Checks that the decoded atlas is the one the index describes. */
export function sceneAtlas(index: SceneIndexFile, rgba: Uint8Array, width: number, height: number): SceneAtlas {
  const { sprite, atlas, emoji } = index;
  if (width !== atlas.width || height !== atlas.height || rgba.length !== width * height * 4) {
    throw new Error(`scene atlas: decoded ${width}x${height}, the index says ${atlas.width}x${atlas.height} RGBA`);
  }
  for (const e of emoji) {
    if (e.x < 0 || e.y < 0 || e.x + sprite > width || e.y + sprite > height) throw new Error(`scene atlas: ${e.name} lies outside`);
  }
  return { sprite, width, height, rgba, emoji };
}

/** The shipped atlas, fetched from the app's public/scenes/ (a browser or worker). */
export async function loadSceneAtlas(baseUrl?: string): Promise<SceneAtlas> {
  const base = new URL(baseUrl ?? `${import.meta.env?.BASE_URL ?? '/'}scenes/`, globalThis.location?.href);
  const fetchOk = async (file: string) => {
    const response = await fetch(new URL(file, base));
    if (!response.ok) throw new Error(`scene atlas: HTTP ${response.status} for ${response.url}`);
    return response;
  };
  const index = (await (await fetchOk(SCENE_INDEX_FILE)).json()) as SceneIndexFile;
  // A 2D canvas keeps premultiplied alpha, so translucent edge pixels come back with a level or so of colour
  // error against Node's exact decode; compositing multiplies them by their small alpha again.
  const bitmap = await createImageBitmap(await (await fetchOk(index.atlas.file)).blob(), {
    premultiplyAlpha: 'none',
    colorSpaceConversion: 'none',
  });
  try {
    const { width, height } = bitmap;
    const context = new OffscreenCanvas(width, height).getContext('2d');
    if (!context) throw new Error('scene atlas: no 2D canvas to decode into');
    context.drawImage(bitmap, 0, 0);
    const pixels = context.getImageData(0, 0, width, height).data;
    return sceneAtlas(index, new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength), width, height);
  } finally {
    bitmap.close();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Scenes

/** Also the words captions use. */
export type SizeClass = 'small' | 'medium' | 'large';
export const SIZE_CLASSES: readonly SizeClass[] = ['small', 'medium', 'large'];
/** Sprite side as a fraction of the image side. */
export const SIZE_EXTENT: Readonly<Record<SizeClass, number>> = { small: 0.22, medium: 0.32, large: 0.46 };
/** The 3x3 grid cells, row-major, as captions name them. */
export const POSITIONS = [
  'top left',
  'top centre',
  'top right',
  'centre left',
  'centre',
  'centre right',
  'bottom left',
  'bottom centre',
  'bottom right',
] as const;

export interface SceneObject {
  /** Index into the atlas's emoji; its mask class id is emoji + 1. */
  emoji: number;
  name: string;
  size: SizeClass;
  /** Grid cell, an index into POSITIONS. */
  cell: number;
  /** Sprite centre, as fractions of the image side (jittered inside the cell, kept inside the image). */
  x: number;
  y: number;
  /** Which object-sentence template the caption uses. */
  phrasing: number;
}

export interface Scene {
  /** Seeds the background's texture (noise, stars). */
  seed: number;
  /** Index into BACKGROUNDS; null for the plain backdrop of teaching scenes, which their captions do not mention. */
  background: number | null;
  backgroundPhrasing: number;
  /** Whether the background sentence opens the caption rather than closing it. */
  backgroundFirst: boolean;
  /** In caption order; drawn larger first (smaller ones on top). */
  objects: SceneObject[];
}

/** murmur3's finaliser over two words: seeds per scene, noise per pixel. */
function hash2(a: number, b: number): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

const HELD_OUT_PAIR_MODULUS = 8;
const HELD_OUT_SEED = 0x5eed_0b1d;
const TRAIN_SALT = 0x7a1f;

/**
 * The held-out rule. An unordered pair of emoji is held out when FNV-1a of their names (sorted, joined by '|') is
 * divisible by 8: about 1 pair in 8, fixed by the names alone (not by atlas order). Training scenes never contain
 * a held-out pair; every held-out scene contains one (it has 2-4 objects), so no held-out object set occurs in
 * training, and held-out scenes test objects seen in training in pairings never seen together.
 */
export function isHeldOutPair(atlas: SceneAtlas, a: number, b: number): boolean {
  const [p, q] = [atlas.emoji[a]!.name, atlas.emoji[b]!.name].sort();
  return fnv1a(`${p}|${q}`) % HELD_OUT_PAIR_MODULUS === 0;
}

/**
 * Which emoji scenes may show: every one of the atlas ('all', the built-in scenes), or 24 of them, distinct in
 * colour and shape, that a tiny model learns in minutes on a CPU ('teaching'). Held-out pairs follow the same rule.
 */
export type SceneKinds = 'all' | 'teaching';

export const TEACHING_EMOJI: readonly string[] = [
  'red apple',
  'banana',
  'bunch of grapes',
  'strawberry',
  'carrot',
  'broccoli',
  'dog',
  'cat',
  'frog',
  'penguin',
  'fish',
  'butterfly',
  'sunflower',
  'pine tree',
  'mushroom',
  'red car',
  'bicycle',
  'sailboat',
  'airplane',
  'soccer ball',
  'sun',
  'star',
  'house',
  'umbrella',
];

const catalogs = new WeakMap<SceneAtlas, Record<SceneKinds, number[]>>();

/** The atlas indices of the emoji `kinds` allows, in atlas order. */
export function sceneCatalog(atlas: SceneAtlas, kinds: SceneKinds): number[] {
  let known = catalogs.get(atlas);
  if (!known) {
    const all = atlas.emoji.map((_, i) => i);
    const teaching = all.filter((i) => TEACHING_EMOJI.includes(atlas.emoji[i]!.name));
    if (teaching.length !== TEACHING_EMOJI.length) throw new Error(`scene atlas: ${TEACHING_EMOJI.length - teaching.length} of the teaching emoji are missing`);
    known = { all, teaching };
    catalogs.set(atlas, known);
  }
  return known[kinds];
}

/** Training scene `index` of the stream seeded by `seed`: random access, so loaders can shard it. */
export function trainScene(atlas: SceneAtlas, seed: number, index: number, kinds: SceneKinds = 'all'): Scene {
  const catalog = sceneCatalog(atlas, kinds);
  const random = rng(hash2(hash2(seed, TRAIN_SALT), index));
  const objectCount = 1 + Math.floor(random() * 4);
  const emoji: number[] = [];
  while (emoji.length < objectCount) {
    const e = catalog[Math.floor(random() * catalog.length)]!;
    if (!emoji.includes(e) && !emoji.some((other) => isHeldOutPair(atlas, e, other))) emoji.push(e);
  }
  return composeScene(atlas, random, emoji, kinds);
}

/** The fixed held-out split, its first `count` scenes; a shorter list is a prefix of a longer one. */
export function heldOutScenes(atlas: SceneAtlas, count: number, kinds: SceneKinds = 'all'): Scene[] {
  const catalog = sceneCatalog(atlas, kinds);
  const draw = (random: Random) => catalog[Math.floor(random() * catalog.length)]!;
  // Emoji with a held-out partner in the catalog (in the whole atlas, all of them).
  const paired = new Set(catalog.filter((a) => catalog.some((b) => b !== a && isHeldOutPair(atlas, a, b))));
  return Array.from({ length: count }, (_, i) => {
    const random = rng(hash2(HELD_OUT_SEED, i));
    let a = draw(random);
    while (!paired.has(a)) a = draw(random);
    let b = a;
    while (b === a || !isHeldOutPair(atlas, a, b)) b = draw(random);
    const emoji = [a, b];
    const objectCount = 2 + Math.floor(random() * 3);
    while (emoji.length < objectCount) {
      const e = draw(random);
      if (!emoji.includes(e)) emoji.push(e);
    }
    return composeScene(atlas, random, emoji, kinds);
  });
}

interface Box {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

const JITTER = 0.03;
/** Two sprites' boxes may share at most this fraction of the smaller box (sprites have transparent margins). */
const MAX_OVERLAP = 0.15;
const PLACEMENT_TRIES = 12;

function boxOf({ x, y, size }: Pick<SceneObject, 'x' | 'y' | 'size'>): Box {
  const half = SIZE_EXTENT[size] / 2;
  return { x0: x - half, y0: y - half, x1: x + half, y1: y + half };
}

function overlapsTooMuch(a: Box, b: Box): boolean {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  if (w <= 0 || h <= 0) return false;
  const smaller = Math.min((a.x1 - a.x0) * (a.y1 - a.y0), (b.x1 - b.x0) * (b.y1 - b.y0));
  return w * h > MAX_OVERLAP * smaller;
}

/**
 * Places the emoji in order, each in a free cell with a random size, retrying when it would cover another too
 * much, then falling back to a small sprite centred in any free cell that fits. The first two always fit (a small
 * sprite in some corner clears any single sprite); a later one that fits nowhere is left out.
 */
function composeScene(atlas: SceneAtlas, random: Random, emoji: number[], kinds: SceneKinds): Scene {
  const seed = Math.floor(random() * 4294967296);
  const placed: Omit<SceneObject, 'phrasing'>[] = [];
  const cellCentre = (cell: number, jitter: boolean) => {
    const at = (i: number) => (2 * i + 1) / 6 + (jitter ? (random() * 2 - 1) * JITTER : 0);
    return [at(cell % 3), at(Math.floor(cell / 3))] as const;
  };
  const tryPlace = (e: number, cell: number, size: SizeClass, jitter: boolean) => {
    const half = SIZE_EXTENT[size] / 2;
    const clamp = (v: number) => Math.min(Math.max(v, half), 1 - half);
    const [cx, cy] = cellCentre(cell, jitter);
    const object = { emoji: e, name: atlas.emoji[e]!.name, size, cell, x: clamp(cx), y: clamp(cy) };
    if (placed.some((p) => overlapsTooMuch(boxOf(p), boxOf(object)))) return false;
    placed.push(object);
    return true;
  };
  for (const e of emoji) {
    const free = POSITIONS.map((_, cell) => cell).filter((cell) => !placed.some((p) => p.cell === cell));
    let done = false;
    for (let t = 0; t < PLACEMENT_TRIES && !done; t++) {
      const size = SIZE_CLASSES[Math.floor(random() * SIZE_CLASSES.length)]!;
      done = tryPlace(e, free[Math.floor(random() * free.length)]!, size, true);
    }
    for (let i = 0; i < free.length && !done; i++) done = tryPlace(e, free[i]!, 'small', false);
  }
  const objects = placed.map((o) => ({ ...o, phrasing: Math.floor(random() * OBJECT_SENTENCES.length) }));
  for (let i = objects.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [objects[i], objects[j]] = [objects[j]!, objects[i]!];
  }
  const background = Math.floor(random() * BACKGROUNDS.length);
  return {
    seed,
    // Teaching scenes: with eleven backgrounds a small batch tells its captions apart by the background alone, and a
    // tiny model learns that and nothing else (held-out R@5 about 5/23, one background's share); on one plain
    // backdrop only the objects, their sizes and places tell captions apart.
    background: kinds === 'teaching' ? null : background,
    backgroundPhrasing: Math.floor(random() * BACKGROUND_SENTENCES.length),
    backgroundFirst: random() < 0.25,
    objects,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Captions

const OBJECT_SENTENCES: readonly ((size: string, name: string, position: string) => string)[] = [
  (s, n, p) => `A ${s} ${n} in the ${p}`,
  (s, n, p) => `There is a ${s} ${n} in the ${p}`,
  (s, n, p) => `In the ${p} there is a ${s} ${n}`,
  (s, n, p) => `A ${s} ${n} is in the ${p}`,
];

/** Phrased so that they read well first or last. */
const BACKGROUND_SENTENCES: readonly ((background: string) => string)[] = [
  (bg) => `The background is ${bg}`,
  (bg) => `The scene is set against ${bg}`,
  (bg) => `The backdrop is ${bg}`,
];

const objectSentence = (o: SceneObject): string => OBJECT_SENTENCES[o.phrasing]!(o.size, o.name, POSITIONS[o.cell]);

/** The caption's sentences, without their full stops: what text crops sample from. */
export function captionSentences(scene: Scene): string[] {
  const objects = scene.objects.map(objectSentence);
  if (scene.background === null) return objects;
  const background = BACKGROUND_SENTENCES[scene.backgroundPhrasing]!(BACKGROUNDS[scene.background]!.phrase);
  return scene.backgroundFirst ? [background, ...objects] : [...objects, background];
}

/** The long caption: every sentence with its full stop, so that splitting on '.' gives the sentences back. */
export function sceneCaption(scene: Scene): string {
  return captionSentences(scene)
    .map((s) => `${s}.`)
    .join(' ');
}

// ---------------------------------------------------------------------------------------------------------------
// Backgrounds: procedural fills, drawn in coordinates relative to the image side so they look alike at any size.

type Rgb = readonly [number, number, number];

interface Background {
  name: string;
  /** How captions say it. */
  phrase: string;
  /**
   * Colour at (u, v) in [0, 1)^2, sampled at pixel centres; `noise` is uniform in [0, 1), fixed per pixel and
   * scene; `pixel` is one pixel's side (1 / size), the least width a line needs to show at every size.
   */
  colour(u: number, v: number, noise: number, pixel: number): Rgb;
}

const mix = (a: Rgb, b: Rgb, t: number): Rgb => [a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t];
const shade = (c: Rgb, d: number): Rgb => [c[0] + d, c[1] + d, c[2] + d];
/** Whether t lies within a line of the given half-width (at least half a pixel) at a multiple of 1 / count. */
const onGridLine = (t: number, count: number, halfWidth: number, pixel: number) =>
  Math.abs(t * count - Math.round(t * count)) <= Math.max(halfWidth, pixel / 2) * count;

export const BACKGROUNDS: readonly Background[] = [
  { name: 'light blue sky', phrase: 'a light blue sky', colour: (_u, v) => mix([105, 170, 235], [200, 230, 250], v) },
  {
    name: 'green grass',
    phrase: 'green grass',
    colour: (u, v, n) => shade(mix([70, 150, 55], [95, 175, 65], 0.5 + 0.5 * Math.sin(2 * Math.PI * (u * 23 + 0.4 * Math.sin(v * 11)))), (n - 0.5) * 24),
  },
  {
    name: 'dark night sky',
    phrase: 'a dark night sky',
    // A sparse star field: about 1 pixel in 250 is a star, of varying brightness.
    colour: (_u, v, n) => (n > 0.996 ? shade([170, 175, 200], (n - 0.996) * 20000) : mix([10, 14, 40], [36, 42, 86], v)),
  },
  {
    name: 'sandy beach',
    phrase: 'a sandy beach',
    // Sea along the top quarter, a line of foam, then speckled sand.
    colour: (u, v, n) => {
      const shore = 0.24 + 0.02 * Math.sin(u * 9);
      if (v < shore) return mix([40, 120, 185], [70, 160, 205], v / shore);
      if (v < shore + 0.025) return [240, 245, 245];
      return shade([232, 206, 152], (n - 0.5) * 30);
    },
  },
  {
    name: 'sunset sky',
    phrase: 'an orange sunset sky',
    colour: (_u, v) => (v < 0.5 ? mix([95, 60, 140], [235, 110, 90], v * 2) : mix([235, 110, 90], [252, 195, 95], v * 2 - 1)),
  },
  {
    name: 'blue water',
    phrase: 'deep blue water',
    colour: (u, v) => {
      const crest = Math.sin(2 * Math.PI * (v * 9 + 0.08 * Math.sin(u * 13)));
      return crest > 0.9 ? [120, 180, 225] : mix([18, 70, 140], [35, 110, 180], v);
    },
  },
  { name: 'white wall', phrase: 'a plain white wall', colour: () => [240, 240, 236] },
  { name: 'pink wall', phrase: 'a pale pink wall', colour: () => [246, 204, 214] },
  {
    name: 'checkered tablecloth',
    phrase: 'a red and white checkered tablecloth',
    colour: (u, v) => ((Math.floor(u * 8) + Math.floor(v * 8)) % 2 === 0 ? [205, 45, 50] : [245, 240, 232]),
  },
  {
    name: 'wooden floor',
    phrase: 'a wooden floor',
    // Six planks of slightly different browns with a wavy grain, dark seams between them.
    colour: (u, v, n, pixel) => {
      const plank = Math.floor(v * 6);
      if (onGridLine(v, 6, 0.004, pixel)) return [80, 50, 28];
      const base = shade([165, 112, 66], (hash2(plank, 77) / 4294967296 - 0.5) * 30);
      return shade(base, 10 * Math.sin(u * 40 + plank * 2.1 + 3 * Math.sin(u * 7)) + (n - 0.5) * 8);
    },
  },
  {
    name: 'grey tiled floor',
    phrase: 'a grey tiled floor',
    colour: (u, v, n, pixel) => {
      const grout = onGridLine(u, 4, 0.006, pixel) || onGridLine(v, 4, 0.006, pixel);
      return grout ? [95, 95, 100] : shade([170, 172, 176], (n - 0.5) * 12);
    },
  },
];

/** The teaching scenes' backdrop: one even light grey. */
export const PLAIN_BACKDROP: Background = { name: 'plain backdrop', phrase: 'a plain grey backdrop', colour: () => [214, 214, 210] };

export const backgroundOf = (scene: Scene): Background => (scene.background === null ? PLAIN_BACKDROP : BACKGROUNDS[scene.background]!);

// ---------------------------------------------------------------------------------------------------------------
// Rendering

export interface RenderedScene {
  image: RgbImage;
  /** Per pixel: 0 for background, else emoji index + 1 of the topmost sprite whose alpha there exceeds 1/2. */
  mask: Uint16Array;
}

/** Where an object's square sprite lands in an image of side `size`, in whole pixels. */
export function objectPixelBox(object: SceneObject, size: number): { left: number; top: number; side: number } {
  const side = Math.max(1, Math.round(SIZE_EXTENT[object.size] * size));
  return { left: Math.round(object.x * size - side / 2), top: Math.round(object.y * size - side / 2), side };
}

/** Renders the scene at `size` x `size` (RGB) with its class-id mask. Deterministic: same scene, same pixels. */
export function renderScene(atlas: SceneAtlas, scene: Scene, size = 224): RenderedScene {
  const data = new Uint8Array(size * size * 3);
  const mask = new Uint16Array(size * size);
  const background = backgroundOf(scene);
  for (let y = 0, p = 0; y < size; y++) {
    for (let x = 0; x < size; x++, p += 3) {
      const noise = hash2(scene.seed, y * size + x) / 4294967296;
      const c = background.colour((x + 0.5) / size, (y + 0.5) / size, noise, 1 / size);
      for (let k = 0; k < 3; k++) data[p + k] = Math.min(255, Math.max(0, Math.round(c[k]!)));
    }
  }
  const drawOrder = [...scene.objects].sort((a, b) => SIZE_EXTENT[b.size] - SIZE_EXTENT[a.size]);
  for (const object of drawOrder) {
    const { left, top, side } = objectPixelBox(object, size);
    const sprite = scaledSprite(atlas, atlas.emoji[object.emoji]!, side);
    for (let sy = Math.max(0, -top); sy < side && top + sy < size; sy++) {
      for (let sx = Math.max(0, -left); sx < side && left + sx < size; sx++) {
        const s = (sy * side + sx) * 4;
        const alpha = sprite[s + 3]!;
        if (alpha <= 0) continue;
        const q = (top + sy) * size + left + sx;
        for (let k = 0; k < 3; k++) {
          data[q * 3 + k] = Math.min(255, Math.round(sprite[s + k]! + (1 - alpha) * data[q * 3 + k]!));
        }
        if (alpha > 0.5) mask[q] = object.emoji + 1;
      }
    }
  }
  return { image: { width: size, height: size, data }, mask };
}

/** Where an object is in a rendered scene, and what the caption says of it: the ground truth of the metrics. */
export interface SceneObjectTruth {
  /** Index into the atlas's emoji; the scene's mask holds emoji + 1 where it shows. */
  emoji: number;
  name: string;
  /** The caption's sentence about it, full stop included, exactly as it stands in the caption. */
  sentence: string;
  /** [x0, y0, x1, y1]: the pixels of the rendered image where it shows (its mask), x1 and y1 exclusive. */
  box: [number, number, number, number];
}

/** The scene's objects with their boxes in `rendered` (its mask's extent for each); an object hidden entirely is left out. */
export function sceneTruth(scene: Scene, rendered: RenderedScene): SceneObjectTruth[] {
  const size = rendered.image.width;
  return scene.objects.flatMap((o) => {
    const box: [number, number, number, number] = [size, size, 0, 0];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (rendered.mask[y * size + x] !== o.emoji + 1) continue;
        box[0] = Math.min(box[0], x);
        box[1] = Math.min(box[1], y);
        box[2] = Math.max(box[2], x + 1);
        box[3] = Math.max(box[3], y + 1);
      }
    }
    return box[2] > box[0] ? [{ emoji: o.emoji, name: o.name, sentence: `${objectSentence(o)}.`, box }] : [];
  });
}

/** Triangle-filter taps for resampling `from` samples to `to` (widened when shrinking, so it averages the area). */
function resampleTaps(from: number, to: number): { first: Int32Array; count: number; weights: Float32Array } {
  const scale = from / to;
  const radius = Math.max(1, scale);
  const count = Math.ceil(radius) * 2 + 1;
  const first = new Int32Array(to);
  const weights = new Float32Array(to * count);
  for (let i = 0; i < to; i++) {
    const centre = (i + 0.5) * scale;
    const start = Math.max(0, Math.floor(centre - radius));
    first[i] = start;
    let total = 0;
    for (let t = 0; t < count && start + t < from; t++) {
      const w = Math.max(0, 1 - Math.abs(start + t + 0.5 - centre) / radius);
      weights[i * count + t] = w;
      total += w;
    }
    for (let t = 0; t < count; t++) weights[i * count + t]! /= total;
  }
  return { first, count, weights };
}

/**
 * Sprites already scaled, by emoji and side: a scene's objects come in a few sizes, so a training batch keeps asking
 * for the same ones (the host composes every batch while the GPU waits for it). Read-only once made.
 */
const scaledSprites = new WeakMap<EmojiEntry, Map<number, Float32Array>>();

function scaledSprite(atlas: SceneAtlas, entry: EmojiEntry, side: number): Float32Array {
  const bySide = scaledSprites.get(entry) ?? new Map<number, Float32Array>();
  scaledSprites.set(entry, bySide);
  const sprite = bySide.get(side) ?? resampleSprite(atlas, entry, side);
  bySide.set(side, sprite);
  return sprite;
}

/**
 * The emoji's sprite scaled to side x side: separable triangle filter (bilinear when enlarging, area-like when
 * shrinking) over premultiplied colour, so transparent pixels' colour never bleeds in. Returns premultiplied RGB
 * in 0..255 and alpha in 0..1, 4 floats per pixel.
 */
function resampleSprite(atlas: SceneAtlas, entry: EmojiEntry, side: number): Float32Array {
  const n = atlas.sprite;
  const { first, count, weights } = resampleTaps(n, side);
  const rows = new Float32Array(n * side * 4);
  for (let y = 0; y < n; y++) {
    const row = ((entry.y + y) * atlas.width + entry.x) * 4;
    for (let i = 0; i < side; i++) {
      let r = 0,
        g = 0,
        b = 0,
        a = 0;
      for (let t = 0; t < count; t++) {
        const w = weights[i * count + t]!;
        if (w === 0) continue;
        const p = row + (first[i]! + t) * 4;
        const alpha = (atlas.rgba[p + 3]! / 255) * w;
        r += atlas.rgba[p]! * alpha;
        g += atlas.rgba[p + 1]! * alpha;
        b += atlas.rgba[p + 2]! * alpha;
        a += alpha;
      }
      const o = (y * side + i) * 4;
      rows[o] = r;
      rows[o + 1] = g;
      rows[o + 2] = b;
      rows[o + 3] = a;
    }
  }
  const out = new Float32Array(side * side * 4);
  for (let j = 0; j < side; j++) {
    for (let t = 0; t < count; t++) {
      const w = weights[j * count + t]!;
      if (w === 0) continue;
      const src = (first[j]! + t) * side * 4;
      const dst = j * side * 4;
      for (let k = 0; k < side * 4; k++) out[dst + k]! += rows[src + k]! * w;
    }
  }
  return out;
}
