import { describe, expect, it } from 'vitest';
import { expectClose, loadFixture } from '../../testing/fixtures.ts';
import { floatRows } from '../../testing/zeroShot.ts';
import { ClassificationScores } from './classificationMetrics.ts';
import { rankOf, retrievalMetrics } from './retrievalMetrics.ts';
import { classMap } from './runSegmentation.ts';
import { SegmentationScores } from './segmentationMetrics.ts';
import { ProgressMeter, formatDuration, progressLine } from './progress.ts';

const fixture = (name: string) => loadFixture('eval-metrics').find((c) => c.name === name)!;

/** Row-major [rows x cols] of dot products of two sets of rows, in float32 as the GPU computes them. */
function dots(rows: Float32Array[], cols: Float32Array[]): Float32Array {
  const out = new Float32Array(rows.length * cols.length);
  rows.forEach((r, i) => {
    cols.forEach((c, j) => {
      let sum = 0;
      for (let k = 0; k < r.length; k++) sum += r[k]! * c[k]!;
      out[i * cols.length + j] = sum;
    });
  });
  return out;
}

describe('scores against the reference libraries on the same numbers (fixtures/eval-metrics.json)', () => {
  it("retrieval with several captions per image: CLIP_benchmark's recall@1/5/10 both ways", () => {
    const c = fixture('retrieval');
    const images = floatRows(c.tensors.images!);
    const texts = floatRows(c.tensors.texts!);
    const captionImage = c.tensors.caption_image!.data;
    const imageCaptions = images.map((_, i) => captionImage.flatMap((img, t) => (img === i ? [t] : [])));
    const i2t = dots(images, texts);
    const t2i = dots(texts, images);
    const imageToText = images.map((_, i) => rankOf(i2t, i, texts.length, imageCaptions[i]!));
    const textToImage = texts.map((_, t) => rankOf(t2i, t, images.length, [captionImage[t]!]));
    // Fractions of 23 images and of their captions: the same counts give the same float.
    expect(retrievalMetrics(imageToText, textToImage)).toEqual(c.attrs.metrics);
  });

  it('classification: acc1, acc5 and mean per-class recall (classes without images left out), batch by batch', () => {
    const c = fixture('classification');
    const { classes, acc1, acc5, mean_per_class_recall } = c.attrs as Record<string, number>;
    const logits = Float32Array.from(c.tensors.logits!.data);
    const labels = c.tensors.labels!.data;
    const scores = new ClassificationScores(classes!);
    for (let start = 0; start < labels.length; start += 16) {
      const end = Math.min(start + 16, labels.length);
      scores.add(logits.subarray(start * classes!, end * classes!), labels.slice(start, end));
    }
    const got = scores.metrics();
    expect([got.acc1, got.acc5]).toEqual([acc1, acc5]);
    expectClose([got.mean_per_class_recall], [mean_per_class_recall!], { rtol: 1e-12, atol: 0 }, 'mean per-class recall'); // summation order
    expect(() => scores.add(new Float32Array(classes!), [classes!])).toThrow(`label ${classes} is not one of the ${classes} classes`);
  });

  it("segmentation: mmsegmentation's IoU per class over all images, 255 ignored, nanmean", () => {
    const c = fixture('segmentation iou');
    const attrs = c.attrs as { classes: number; per_class_iou: (number | null)[]; miou: number; sizes: number[][] };
    const scores = new SegmentationScores(attrs.classes);
    for (const i of attrs.sizes.keys()) scores.add(c.tensors[`pred${i}`]!.data, c.tensors[`label${i}`]!.data, `label${i}.png`);
    const got = scores.metrics();
    expectClose(
      got.perClassIou.map((v) => (Number.isNaN(v) ? -1 : v)),
      attrs.per_class_iou.map((v) => v ?? -1),
      { rtol: 1e-12, atol: 0 },
      'IoU',
    );
    expectClose([got.miou], [attrs.miou], { rtol: 1e-12, atol: 0 }, 'mIoU');
    expect(() => scores.add([0], [attrs.classes], 'x.png')).toThrow(`x.png: a pixel is labelled ${attrs.classes}, but there are ${attrs.classes} classes`);
  });

  for (const threshold of [0, 0.3]) {
    it(`SCLIP's class map from query probabilities, threshold ${threshold}`, () => {
      const c = fixture(`class map threshold ${threshold.toFixed(1)}`);
      const queryClass = c.attrs.query_class as number[];
      const [q, pixels] = c.tensors.probabilities!.shape as [number, number];
      expect(q).toBe(queryClass.length);
      const got = classMap(Float32Array.from(c.tensors.probabilities!.data), queryClass, 4, pixels, threshold);
      expect(Array.from(got)).toEqual(c.tensors.pred!.data);
    });
  }
});

describe('ranks on the host', () => {
  it('count the wrong candidates at least as high as the best right one: ties count against', () => {
    const scores = Float32Array.from([0.5, 0.9, 0.5, 0.1, 0.2, 0.2, 0.2, 0.2]);
    expect(rankOf(scores, 0, 4, [0])).toBe(2); // 0.9 above, 0.5 tied
    expect(rankOf(scores, 0, 4, [0, 1])).toBe(0); // its best right one is on top
    expect(rankOf(scores, 1, 4, [2])).toBe(3); // all tied: every other one counts
  });
});

describe('progress', () => {
  it('rate and time left from a clock, fraction from bytes where the count is unknown', () => {
    let now = 0;
    const seen: string[] = [];
    const meter = new ProgressMeter(
      'images',
      100,
      (p) => seen.push(progressLine(p)),
      () => now,
    );
    now = 10_000;
    meter.advance(25);
    expect(seen.at(-1)).toBe('images 25/100 (25%), 2.5/s, 30s left');
    const shards = new ProgressMeter(
      'images',
      null,
      (p) => seen.push(progressLine(p)),
      () => now,
    );
    now = 70_000;
    shards.advance(120, 0.5);
    expect(seen.at(-1)).toBe('images 120 (50%), 2.0/s, 1m 00s left');
    expect(formatDuration(7384)).toBe('2h 03m');
  });
});
