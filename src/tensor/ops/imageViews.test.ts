import { describe, expect, it } from 'vitest';
import { rng } from '../../data/random.ts';
import { scope, scopeAsync } from '../scope.ts';
import { fromArray } from '../tensor.ts';
import { expectTensorClose, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { planViews } from '../../cosmos/views/augment.ts';
import { renderViews, type ViewPlan } from './imageViews.ts';

setupTestGpu();

const [source, ...cases] = loadFixture('augment');
const u8 = source!.tensors.images_u8!;
const [, , SRC_H, SRC_W] = u8.shape as [number, number, number, number];
const sourceImages = () =>
  fromArray(
    u8.data.map((v) => v / 255),
    u8.shape,
  );

// Outputs are CLIP-normalized (|x| <= 2.2): dividing by std ~0.27 scales pixel rounding by ~3.8. Resizing,
// grayscale, solarize and normalize alone: torchvision's own f32 result is up to 5.7e-7 from float64 here.
const PLAIN = { rtol: 0, atol: 1.5e-6 };
// Color jitter (its RGB -> HSV -> RGB round trip wraps hue through h + 1, keeping ~1e-7 absolute of it, which
// _hsv2rgb multiplies by 6) and blur (up to 13 x 13 taps, summed separably here, as one 2-D kernel by torch):
// torchvision's own f32 result is up to 2.2e-6 from float64 on these cases.
const ROUNDED = { rtol: 0, atol: 5e-6 };

const tolerance = (plans: ViewPlan[]) => (plans.some((p) => p.jitter || p.blurSigma !== null) ? ROUNDED : PLAIN);

describe('renderViews against torchvision 0.14 tensor transforms', () => {
  for (const c of cases) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const plans = c.attrs.plans as ViewPlan[][];
        const views = renderViews(sourceImages(), plans);
        expect(views.length).toBe(plans[0]!.length);
        for (const [v, view] of views.entries()) {
          await expectTensorClose(view, c.tensors[`view${v}`]!, tolerance(plans.map((p) => p[v]!)), `view ${v}`);
        }
      });
    });
  }
});

describe('renderViews with planViews', () => {
  it('renders every planned view of a batch, normalized pixels in range', async () => {
    await scopeAsync(async () => {
      const random = rng(42);
      const plans = [0, 1, 2].map(() => planViews(random, SRC_W, SRC_H, { globalSize: 16, localSize: 8, localCount: 3 }));
      const views = renderViews(sourceImages(), plans);
      expect(views.map((v) => v.shape)).toEqual([16, 16, 8, 8, 8].map((s) => [3, 3, s, s]));
      for (const view of views) {
        for (const x of await view.readFloat()) expect(x >= -0.48145466 / 0.26862954 - 1e-5 && x <= 2.2).toBe(true);
      }
    });
  });

  it('rejects crops outside the image and views of different sizes in one index', () => {
    scope(() => {
      const plan: ViewPlan = { crop: { x: 0, y: 0, w: 8, h: 8 }, size: 8, flip: false, jitter: null, grayscale: false, blurSigma: null, solarize: false };
      const images = sourceImages();
      const outside = { ...plan, crop: { x: SRC_W - 4, y: 0, w: 8, h: 8 } };
      expect(() => renderViews(images, [[plan], [outside], [plan]])).toThrow(/inside the/);
      expect(() => renderViews(images, [[plan], [{ ...plan, size: 9 }], [plan]])).toThrow(/9 px in sample 1/);
      expect(() => renderViews(images, [[{ ...plan, blurSigma: 2.5 }], [plan], [plan]])).toThrow(/radius 8/);
    });
  });
});
