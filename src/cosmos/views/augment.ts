/**
 * The random choices of COSMOS's image views (DINO's multi-crop recipe, COSMOS-SPEC section 3), drawn on the host
 * from a seeded generator (src/data/random.ts) with torchvision's algorithms, as the plans that the image-view
 * kernels (src/tensor/ops/imageViews.ts) render.
 */
import type { CropBox, JitterPlan, ViewPlan } from '../../tensor/ops/imageViews.ts';

export interface ViewCounts {
  globalSize: number;
  localSize: number;
  localCount: number;
}

type Range = readonly [number, number];

export interface ViewRecipe {
  /** Area fractions of the source that global and local crops cover. */
  globalScale: Range;
  localScale: Range;
  ratio: Range;
  /** Probability of a horizontal flip. */
  flip: number;
  jitter: { p: number; brightness: number; contrast: number; saturation: number; hue: number };
  grayscale: number;
  /** Blur probability of global view 1, global view 2 and every local view. */
  blur: { global1: number; global2: number; local: number };
  /** At most 2: the blur kernel has 13 taps (imageViews.ts). */
  blurSigma: Range;
  /** Solarization probability, global view 2 only. */
  solarize: number;
}

/** DINO's DataAugmentationDINO with COSMOS's numbers: what the reference trains with. */
const COSMOS_VIEWS: ViewRecipe = {
  globalScale: [0.4, 1.0],
  localScale: [0.05, 0.4],
  ratio: [3 / 4, 4 / 3],
  flip: 0.5,
  jitter: { p: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1 },
  grayscale: 0.2,
  blur: { global1: 1.0, global2: 0.1, local: 0.5 },
  blurSigma: [0.1, 2.0],
  solarize: 0.2,
};

/**
 * Views that keep what the built-in scenes' captions say true: no flips (captions say left and right), no hue
 * shifts, grayscale or solarization (they name colours), global crops that keep most of the scene (objects and
 * their places stay in view), lighter blur. The local crops stay COSMOS's.
 */
const TEACHING_VIEWS: ViewRecipe = {
  ...COSMOS_VIEWS,
  globalScale: [0.8, 1.0],
  flip: 0,
  jitter: { p: 0.8, brightness: 0.3, contrast: 0.3, saturation: 0.2, hue: 0 },
  grayscale: 0,
  blur: { global1: 0.5, global2: 0.1, local: 0.5 },
  blurSigma: [0.1, 1.0],
  solarize: 0,
};

export const VIEW_RECIPES = { cosmos: COSMOS_VIEWS, teaching: TEACHING_VIEWS } as const;
export type ViewRecipeName = keyof typeof VIEW_RECIPES;

const uniform = (random: () => number, [lo, hi]: Range): number => lo + (hi - lo) * random();

/** Python's round(): halves go to the even neighbour. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * torchvision's RandomResizedCrop.get_params: up to 10 tries of an area fraction U(scale) and a log-uniform
 * aspect ratio, the first box that fits placed uniformly; else a centre crop clipped to the ratio range.
 */
export function randomResizedCrop(random: () => number, width: number, height: number, scale: Range, ratio: Range = COSMOS_VIEWS.ratio): CropBox {
  const area = width * height;
  const logRatio: Range = [Math.log(ratio[0]), Math.log(ratio[1])];
  for (let attempt = 0; attempt < 10; attempt++) {
    const targetArea = area * uniform(random, scale);
    const aspect = Math.exp(uniform(random, logRatio));
    const w = roundHalfEven(Math.sqrt(targetArea * aspect));
    const h = roundHalfEven(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= width && h > 0 && h <= height) {
      const y = Math.floor(random() * (height - h + 1));
      const x = Math.floor(random() * (width - w + 1));
      return { x, y, w, h };
    }
  }
  const inRatio = width / height;
  let w = width;
  let h = height;
  if (inRatio < ratio[0]) h = roundHalfEven(w / ratio[0]);
  else if (inRatio > ratio[1]) w = roundHalfEven(h * ratio[1]);
  return { x: Math.floor((width - w) / 2), y: Math.floor((height - h) / 2), w, h };
}

/** torchvision's ColorJitter.get_params: a random order, then each factor uniform in its range. */
export function colorJitter(random: () => number, j: ViewRecipe['jitter']): JitterPlan {
  const order = [0, 1, 2, 3];
  for (let i = order.length - 1; i > 0; i--) {
    const k = Math.floor(random() * (i + 1));
    [order[i], order[k]] = [order[k]!, order[i]!];
  }
  return {
    order,
    brightness: uniform(random, [Math.max(0, 1 - j.brightness), 1 + j.brightness]),
    contrast: uniform(random, [Math.max(0, 1 - j.contrast), 1 + j.contrast]),
    saturation: uniform(random, [Math.max(0, 1 - j.saturation), 1 + j.saturation]),
    hue: uniform(random, [-j.hue, j.hue]),
  };
}

function planView(r: ViewRecipe, random: () => number, srcW: number, srcH: number, size: number, scale: Range, blurP: number, solarizeP: number): ViewPlan {
  const crop = randomResizedCrop(random, srcW, srcH, scale, r.ratio);
  const flip = random() < r.flip;
  const jitter = random() < r.jitter.p ? colorJitter(random, r.jitter) : null;
  const grayscale = random() < r.grayscale;
  const blurSigma = random() < blurP ? uniform(random, r.blurSigma) : null;
  const solarize = random() < solarizeP;
  return { crop, size, flip, jitter, grayscale, blurSigma, solarize };
}

/** One sample's views: global 1, global 2, then `localCount` local crops, with the recipe's probabilities. */
export function planViews(random: () => number, srcW: number, srcH: number, opts: ViewCounts, r: ViewRecipe = COSMOS_VIEWS): ViewPlan[] {
  const views = [
    planView(r, random, srcW, srcH, opts.globalSize, r.globalScale, r.blur.global1, 0),
    planView(r, random, srcW, srcH, opts.globalSize, r.globalScale, r.blur.global2, r.solarize),
  ];
  for (let i = 0; i < opts.localCount; i++) {
    views.push(planView(r, random, srcW, srcH, opts.localSize, r.localScale, r.blur.local, 0));
  }
  return views;
}
