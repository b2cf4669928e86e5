import { describe, expect, it } from 'vitest';
import { rng } from '../../data/random.ts';
import type { ViewPlan } from '../../tensor/ops/imageViews.ts';
import { VIEW_RECIPES, planViews, randomResizedCrop } from './augment.ts';

const SRC_W = 640;
const SRC_H = 480;
const SAMPLES = 2000;
const COUNTS = { globalSize: 224, localSize: 96, localCount: 6 };

/** Fraction of plans with a property. */
const rate = (plans: ViewPlan[], has: (p: ViewPlan) => boolean): number => plans.filter(has).length / plans.length;

describe('planViews (property test over 2000 seeded samples)', () => {
  const samples = Array.from({ length: SAMPLES }, (_, i) => planViews(rng(1000 + i), SRC_W, SRC_H, COUNTS));
  const global1 = samples.map((s) => s[0]!);
  const global2 = samples.map((s) => s[1]!);
  const locals = samples.flatMap((s) => s.slice(2));
  const all = samples.flat();

  it('plans 2 global + localCount local views of the requested sizes', () => {
    for (const s of samples) {
      expect(s.map((v) => v.size)).toEqual([224, 224, 96, 96, 96, 96, 96, 96]);
    }
  });

  it('is a function of the seed', () => {
    expect(planViews(rng(7), SRC_W, SRC_H, COUNTS)).toEqual(planViews(rng(7), SRC_W, SRC_H, COUNTS));
  });

  // Binomial standard deviations over 2000 (or 12000) draws are at most ~0.011: the bands are about 3 of them.
  it('draws each augmentation with its probability', () => {
    for (const views of [global1, global2, locals]) {
      expect(rate(views, (p) => p.flip)).toBeGreaterThan(0.45);
      expect(rate(views, (p) => p.flip)).toBeLessThan(0.55);
      expect(rate(views, (p) => p.jitter !== null)).toBeGreaterThan(0.77);
      expect(rate(views, (p) => p.jitter !== null)).toBeLessThan(0.83);
      expect(rate(views, (p) => p.grayscale)).toBeGreaterThan(0.17);
      expect(rate(views, (p) => p.grayscale)).toBeLessThan(0.23);
    }
    expect(rate(global1, (p) => p.blurSigma !== null)).toBe(1);
    expect(rate(global2, (p) => p.blurSigma !== null)).toBeGreaterThan(0.07);
    expect(rate(global2, (p) => p.blurSigma !== null)).toBeLessThan(0.13);
    expect(rate(locals, (p) => p.blurSigma !== null)).toBeGreaterThan(0.47);
    expect(rate(locals, (p) => p.blurSigma !== null)).toBeLessThan(0.53);
    expect(rate(global2, (p) => p.solarize)).toBeGreaterThan(0.17);
    expect(rate(global2, (p) => p.solarize)).toBeLessThan(0.23);
    expect(rate([...global1, ...locals], (p) => p.solarize)).toBe(0);
  });

  it('crops boxes inside the image with area fractions in the scale range and ratios in [3/4, 4/3]', () => {
    const check = (views: ViewPlan[], [lo, hi]: readonly [number, number], torchvisionMean: number) => {
      let areaSum = 0;
      for (const { crop } of views) {
        expect(crop.x >= 0 && crop.y >= 0 && crop.x + crop.w <= SRC_W && crop.y + crop.h <= SRC_H).toBe(true);
        const fraction = (crop.w * crop.h) / (SRC_W * SRC_H);
        areaSum += fraction;
        // w and h are rounded to integers: at least ~120 px here, so area and ratio move by under 1.7%.
        expect(fraction).toBeGreaterThan(lo * 0.983);
        expect(fraction).toBeLessThan(hi * 1.017);
        expect(crop.w / crop.h).toBeGreaterThan((3 / 4) * 0.983);
        expect(crop.w / crop.h).toBeLessThan((4 / 3) * 1.017);
      }
      // Boxes too tall or wide for the image are redrawn, which pulls global areas below the uniform mean 0.7.
      // The reference means are torchvision's RandomResizedCrop.get_params over 100,000 draws on 640 x 480
      // (standard deviations 0.137 and 0.101: standard errors here ~0.0022 and ~0.0009).
      expect(Math.abs(areaSum / views.length - torchvisionMean)).toBeLessThan(0.01);
    };
    check([...global1, ...global2], VIEW_RECIPES.cosmos.globalScale, 0.6037);
    check(locals, VIEW_RECIPES.cosmos.localScale, 0.2251);
  });

  it('draws jitter factors, orders and blur sigmas in their ranges', () => {
    for (const p of all) {
      if (p.jitter) {
        expect([...p.jitter.order].sort()).toEqual([0, 1, 2, 3]);
        expect(p.jitter.brightness >= 0.6 && p.jitter.brightness <= 1.4).toBe(true);
        expect(p.jitter.contrast >= 0.6 && p.jitter.contrast <= 1.4).toBe(true);
        expect(p.jitter.saturation >= 0.8 && p.jitter.saturation <= 1.2).toBe(true);
        expect(Math.abs(p.jitter.hue) <= 0.1).toBe(true);
      }
      if (p.blurSigma !== null) expect(p.blurSigma >= 0.1 && p.blurSigma <= 2).toBe(true);
    }
    // All 24 orders show up, roughly equally often (~400 each of ~9600 jittered views; sd ~20).
    const orders = new Map<string, number>();
    for (const p of all) if (p.jitter) orders.set(p.jitter.order.join(), (orders.get(p.jitter.order.join()) ?? 0) + 1);
    expect(orders.size).toBe(24);
    const jittered = [...orders.values()].reduce((a, b) => a + b, 0);
    for (const n of orders.values()) expect(Math.abs(n - jittered / 24)).toBeLessThan(100);
  });
});

describe('randomResizedCrop fallback (no box of the area fits in 10 tries)', () => {
  it('crops the centre of a wide image at ratio 4/3', () => {
    expect(randomResizedCrop(rng(1), 1000, 10, [0.9, 1])).toEqual({ x: 493, y: 0, w: 13, h: 10 });
  });
  it('crops the centre of a tall image at ratio 3/4', () => {
    expect(randomResizedCrop(rng(1), 10, 1000, [0.9, 1])).toEqual({ x: 0, y: 493, w: 10, h: 13 });
  });
});

describe('the teaching views', () => {
  const plans = Array.from({ length: 500 }, (_, i) => planViews(rng(i), 96, 96, { globalSize: 64, localSize: 32, localCount: 2 }, VIEW_RECIPES.teaching));
  const globals = plans.flatMap((p) => p.slice(0, 2));

  it('never flip, shift hues, turn grey or solarize: the captions name places and colours', () => {
    for (const p of plans.flat()) {
      expect(p.flip || p.grayscale || p.solarize).toBe(false);
      if (p.jitter) expect(p.jitter.hue).toBe(0);
      if (p.blurSigma !== null) expect(p.blurSigma).toBeLessThanOrEqual(1);
    }
  });

  it('keep most of the scene in the global views', () => {
    for (const { crop } of globals) expect((crop.w * crop.h) / (96 * 96)).toBeGreaterThan(0.8 * 0.97);
  });
});
