/**
 * Semantic segmentation scores as mmsegmentation's IoUMetric computes them (what SCLIP and the COSMOS reference
 * report): over the whole data set, per class, the pixels where prediction and label agree (intersection) and the
 * pixels either assigns to the class (union), label value 255 ignored; IoU = intersection / union per class, and
 * mIoU their mean over the classes with a non-empty union (numpy's nanmean). Counts, not per-image means, so memory
 * stays the same whatever the number of images.
 */

export const IGNORE_LABEL = 255;

export interface SegmentationMetrics {
  miou: number;
  /** Per class, in the classes' order; NaN where neither the labels nor the predictions have the class. */
  perClassIou: number[];
}

export class SegmentationScores {
  private readonly intersection: Float64Array;
  private readonly predicted: Float64Array;
  private readonly labelled: Float64Array;

  constructor(readonly classes: number) {
    this.intersection = new Float64Array(classes);
    this.predicted = new Float64Array(classes);
    this.labelled = new Float64Array(classes);
  }

  /** One image's predicted classes and its label map, pixel for pixel. `where` names the label map in errors. */
  add(prediction: ArrayLike<number>, labels: ArrayLike<number>, where: string): void {
    if (prediction.length !== labels.length) throw new Error(`${where}: ${labels.length} labelled pixels, ${prediction.length} predicted`);
    for (let p = 0; p < labels.length; p++) {
      const label = labels[p]!;
      if (label === IGNORE_LABEL) continue;
      if (label >= this.classes)
        throw new Error(`${where}: a pixel is labelled ${label}, but there are ${this.classes} classes (0-${this.classes - 1}, and ${IGNORE_LABEL} ignored)`);
      const predicted = prediction[p]!;
      this.labelled[label]!++;
      this.predicted[predicted]!++;
      if (predicted === label) this.intersection[label]!++;
    }
  }

  metrics(): SegmentationMetrics {
    const perClassIou = Array.from(this.intersection, (inter, c) => {
      const union = this.predicted[c]! + this.labelled[c]! - inter;
      return union > 0 ? inter / union : Number.NaN;
    });
    const present = perClassIou.filter((iou) => !Number.isNaN(iou));
    return { miou: present.length === 0 ? Number.NaN : present.reduce((a, b) => a + b, 0) / present.length, perClassIou };
  }
}
