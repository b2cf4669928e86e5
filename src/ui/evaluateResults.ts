/**
 * The Evaluate tab's results laid out as the seed's table: a row per model, a column per data set and metric.
 */
import type { EvaluationResult } from '../worker/evaluateProtocol.ts';

/** A data set's name in a column head, as the seed's table names them. */
export function datasetLabel(result: EvaluationResult): string {
  const known: Record<string, string> = { coco: 'COCO', flickr: 'Flickr30k', imagenet: 'ImageNet' };
  return known[result.layout] ?? result.source.replace(/\.(zip|tar)$/i, '');
}

export interface ResultsTable {
  columns: string[];
  rows: { model: string; cells: (number | null)[] }[];
}

/**
 * The results as the seed's table lays them out: a row per model, a column per data set and metric (retrieval:
 * image-to-text and text-to-image R@1; classification: top-1; segmentation: mIoU, with and without CSA). A later
 * evaluation of the same model and column replaces the earlier value.
 */
export function resultsTable(results: readonly EvaluationResult[]): ResultsTable {
  const columns: string[] = [];
  const values = new Map<string, Map<string, number>>();
  for (const result of results) {
    const name = datasetLabel(result);
    for (const r of result.report.results) {
      const cells: [string, number | undefined][] =
        result.task === 'retrieval'
          ? [
              [`${name} I→T R@1`, r.metrics['text_retrieval_recall@1']],
              [`${name} T→I R@1`, r.metrics['image_retrieval_recall@1']],
            ]
          : result.task === 'classification'
            ? [[`${name} top-1`, r.metrics.acc1]]
            : [[`${name} mIoU${r.csa ? ' (CSA)' : ''}`, r.metrics.miou]];
      for (const [column, value] of cells) {
        if (value === undefined) continue;
        if (!columns.includes(column)) columns.push(column);
        const row = values.get(r.label) ?? new Map<string, number>();
        row.set(column, value);
        values.set(r.label, row);
      }
    }
  }
  return { columns, rows: [...values].map(([model, row]) => ({ model, cells: columns.map((c) => row.get(c) ?? null) })) };
}
