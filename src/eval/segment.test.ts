import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CosmosModel } from '../cosmos/model.ts';
import { expectClose } from '../testing/fixtures.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { fromArray } from '../tensor/tensor.ts';
import { encodeImageWithCsa } from './csa.ts';
import { resizeBilinear } from './planes.ts';
import { BACKGROUND, segmentImage, segmentNormalized, windowStarts } from './segment.ts';
import { tinyModel, zeroShotCase } from '../testing/zeroShot.ts';

setupTestGpu();

describe('SCLIP-style segmentation against the PyTorch reference (tiny.pt teacher)', () => {
  let model: CosmosModel;
  beforeAll(async () => {
    model = await tinyModel('teacher');
  });
  afterAll(() => model?.dispose());

  for (const name of ['segment wide', 'segment tall csa', 'segment square csa']) {
    it(name, async () => {
      const c = zeroShotCase(name);
      const attrs = c.attrs as { csa: boolean; scale: number; threshold: number; out_size: [number, number] };
      const [, height, width] = c.tensors.image!.shape as [number, number, number];
      const image = { channels: 3, height, width, data: Float32Array.from(c.tensors.image!.data) };
      const classes = fromArray(c.tensors.class_embeddings!.data, c.tensors.class_embeddings!.shape).keep();
      const got = await segmentNormalized(model, image, classes, attrs.out_size, {
        csa: attrs.csa,
        logitScale: attrs.scale,
        threshold: attrs.threshold,
      });
      classes.dispose();
      // Patch cosines good to ~2e-7 (retrieval.test.ts), times the scale 40: logits off by ~1e-5, probabilities by at
      // most a quarter of that (measured 2.4e-6); 2e-5 leaves room for other summation orders.
      expectClose(got.probabilities, c.tensors.probabilities!, { rtol: 0, atol: 2e-5 }, 'probabilities');
      // Labels agree wherever the decision is not within that error of a tie or of the threshold.
      const expected = c.tensors.labels!.data;
      const plane = got.width * got.height;
      let decided = 0;
      for (let p = 0; p < plane; p++) {
        const probs = Array.from({ length: got.classes }, (_, k) => c.tensors.probabilities!.data[k * plane + p]!).sort((a, b) => b - a);
        if (probs[0]! - probs[1]! < 4e-5 || Math.abs(probs[0]! - attrs.threshold) < 2e-5) continue;
        decided++;
        if (got.labels[p] !== expected[p]) throw new Error(`pixel ${p}: label ${got.labels[p]}, PyTorch ${expected[p]}`);
      }
      expect(decided).toBeGreaterThan(plane * 0.9);
      if (attrs.threshold > 1 / got.classes) expect(got.labels).toContain(BACKGROUND);
    });
  }

  it('CSA leaves the vision tower as it was', async () => {
    const last = model.visual.transformer.resblocks.at(-1)!;
    expect(Object.hasOwn(last, 'forward')).toBe(false);
    expect(() => encodeImageWithCsa(model.visual, fromArray(new Float32Array(3 * 20 * 20), [1, 3, 20, 20]))).toThrow(/not a multiple of the patch size/);
    expect(Object.hasOwn(last, 'forward')).toBe(false);
  });

  it('segments a decoded image at its own size', async () => {
    const rgb = { width: 45, height: 30, data: Uint8Array.from({ length: 45 * 30 * 3 }, (_, i) => (i * 37) % 256) };
    const classes = fromArray(
      Float32Array.from({ length: 2 * 32 }, (_, i) => Math.sin(i)),
      [2, 32],
    ).keep();
    const got = await segmentImage(model, rgb, classes);
    classes.dispose();
    expect([got.width, got.height, got.classes, got.labels.length, got.probabilities.length]).toEqual([45, 30, 2, 45 * 30, 2 * 45 * 30]);
  });
});

describe('window placement and bilinear resampling', () => {
  it('slides windows of S with stride S/2, the last one moved back to the border (mmseg)', () => {
    expect(windowStarts(32, 32, 16)).toEqual([0]);
    expect(windowStarts(48, 32, 16)).toEqual([0, 16]);
    expect(windowStarts(40, 32, 16)).toEqual([0, 8]);
    expect(windowStarts(298, 224, 112)).toEqual([0, 74]);
  });

  it('matches F.interpolate(mode="bilinear", align_corners=False) on a 2x2 grid upsampled to 4x4', () => {
    const up = resizeBilinear({ channels: 1, height: 2, width: 2, data: Float32Array.from([0, 1, 2, 3]) }, 4, 4);
    // torch.nn.functional.interpolate(torch.tensor([[[[0., 1.], [2., 3.]]]]), size=(4, 4), mode='bilinear')
    const torch = [0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3];
    expectClose(up.data, torch, { rtol: 0, atol: 1e-7 }, 'bilinear'); // quarters: exact in float32
  });
});
