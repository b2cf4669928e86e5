import { describe, expect, it } from 'vitest';
import type { EvalResult } from '../eval/benchmark/run.ts';
import type { EvaluationResult } from '../worker/evaluateProtocol.ts';
import { resultsTable } from './evaluateResults.ts';

function evaluation(task: EvaluationResult['task'], layout: string, source: string, results: EvalResult[]): EvaluationResult {
  return { task, dataset: source, layout, source, report: { images: 10, skipped: [], seconds: 1, imagesPerSecond: 10, results } };
}
const retrieval = (i2t: number, t2i: number) => ({ 'text_retrieval_recall@1': i2t, 'image_retrieval_recall@1': t2i, 'text_retrieval_recall@5': 1 });

describe("the Evaluate tab's results table", () => {
  it('has a row per model and a column per data set and metric, named as the seed names them, empty where a model was not evaluated', () => {
    const table = resultsTable([
      evaluation('retrieval', 'coco', 'coco', [
        { label: 'This run (student, step 0)', metrics: retrieval(0.5, 0.25) },
        { label: 'ViT-B-32.pt', metrics: retrieval(0.75, 0.125) },
      ]),
      evaluation('classification', 'imagenet', 'val', [{ label: 'ViT-B-32.pt', metrics: { acc1: 0.625, acc5: 0.875, mean_per_class_recall: 0.6 } }]),
      evaluation('segmentation', 'segmentation', 'voc.zip', [
        { label: 'This run (student, step 0)', csa: false, metrics: { miou: 0.1 } },
        { label: 'This run (student, step 0)', csa: true, metrics: { miou: 0.2 } },
      ]),
      evaluation('retrieval', 'webdataset', 'shard-0000.tar', [{ label: 'ViT-B-32.pt', metrics: retrieval(0.3, 0.4) }]),
    ]);
    expect(table.columns).toEqual(['COCO I→T R@1', 'COCO T→I R@1', 'ImageNet top-1', 'voc mIoU', 'voc mIoU (CSA)', 'shard-0000 I→T R@1', 'shard-0000 T→I R@1']);
    expect(table.rows).toEqual([
      { model: 'This run (student, step 0)', cells: [0.5, 0.25, null, 0.1, 0.2, null, null] },
      { model: 'ViT-B-32.pt', cells: [0.75, 0.125, 0.625, null, null, 0.3, 0.4] },
    ]);
  });

  it('keeps the latest value when a model is evaluated again on the same data set', () => {
    const table = resultsTable([
      evaluation('classification', 'folders', 'pets', [{ label: 'WiSE-FT 0.50 (run.pt, step 40)', metrics: { acc1: 0.5 } }]),
      evaluation('classification', 'folders', 'pets', [{ label: 'WiSE-FT 0.50 (run.pt, step 40)', metrics: { acc1: 0.75 } }]),
    ]);
    expect(table).toEqual({ columns: ['pets top-1'], rows: [{ model: 'WiSE-FT 0.50 (run.pt, step 40)', cells: [0.75] }] });
  });
});
