/**
 * Zero-shot classification scores as CLIP_benchmark reports them, accumulated batch by batch so that memory does not
 * grow with the data set: top-1 and top-5 accuracy (`acc1`, `acc5`: the label among the k highest logits; k is at
 * most the number of classes) and the mean per-class recall of the top-1 predictions (`mean_per_class_recall`,
 * scikit-learn's balanced_accuracy_score: the mean over the classes that have images of the fraction of their
 * images predicted right).
 */

export type ClassificationMetrics = {
  acc1: number;
  acc5: number;
  mean_per_class_recall: number;
};

export class ClassificationScores {
  private count = 0;
  private top1 = 0;
  private top5 = 0;
  private readonly perClassImages: Int32Array;
  private readonly perClassHits: Int32Array;

  constructor(readonly classes: number) {
    this.perClassImages = new Int32Array(classes);
    this.perClassHits = new Int32Array(classes);
  }

  /**
   * Logits of `labels.length` images, row-major [image][class]. The label's place among the logits is the number of
   * classes scoring higher, and of those scoring the same, the ones before it (torch.topk's order on ties).
   */
  add(logits: Float32Array, labels: ArrayLike<number>): void {
    const c = this.classes;
    if (logits.length !== labels.length * c) throw new Error(`classification: ${logits.length} logits for ${labels.length} images of ${c} classes`);
    for (let i = 0; i < labels.length; i++) {
      const label = labels[i]!;
      if (!(label >= 0 && label < c)) throw new Error(`classification: label ${label} is not one of the ${c} classes`);
      const own = logits[i * c + label]!;
      let place = 0;
      for (let j = 0; j < c; j++) {
        const v = logits[i * c + j]!;
        if (v > own || (v === own && j < label)) place++;
      }
      this.count++;
      this.perClassImages[label]!++;
      if (place < 1) {
        this.top1++;
        this.perClassHits[label]!++;
      }
      if (place < 5) this.top5++;
    }
  }

  get images(): number {
    return this.count;
  }

  metrics(): ClassificationMetrics {
    let recalls = 0;
    let present = 0;
    for (let j = 0; j < this.classes; j++) {
      if (this.perClassImages[j] === 0) continue;
      recalls += this.perClassHits[j]! / this.perClassImages[j]!;
      present++;
    }
    return { acc1: this.top1 / this.count, acc5: this.top5 / this.count, mean_per_class_recall: recalls / present };
  }
}
