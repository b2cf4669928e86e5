/**
 * The adapter's arithmetic ceiling (src/tensor/ceiling.ts) as a benchmark row beside the products: what multiply-adds
 * with no memory traffic reach on this adapter, the bound no kernel passes.
 */
import { measureCeiling } from '../src/tensor/ceiling.ts';
import { type Row, significant } from './cases.ts';

export async function ceilingRow(log: (line: string) => void): Promise<Row> {
  const { gflops, medianMs, iterations, invocations } = await measureCeiling();
  const row: Row = { op: 'ceiling', shape: 'fma in registers', impl: 'cosmos-web', median_ms: significant(medianMs), gflops: significant(gflops) };
  log(`arithmetic ceiling: ${row.gflops} GFLOP/s (${invocations} invocations x ${iterations} steps of 6 vec4 fma chains, no memory traffic)`);
  return row;
}

/** "best matmul 8.1 GFLOP/s, 66% of the arithmetic ceiling (12.3)": how near the products come to the adapter's limit. */
export function matmulShare(rows: readonly Row[]): string {
  const ceiling = rows.find((r) => r.op === 'ceiling' && r.impl === 'cosmos-web');
  const best = Math.max(...rows.filter((r) => r.op === 'matmul' && r.impl === 'cosmos-web').map((r) => r.gflops));
  if (!ceiling || !Number.isFinite(best)) return '';
  return `best matmul ${best} GFLOP/s, ${((100 * best) / ceiling.gflops).toFixed(0)}% of the arithmetic ceiling (${ceiling.gflops})`;
}
