/** Text output helpers: float arrays as JSON-ready numbers, and aligned tables for people. */

/** Float32Array rows as plain number arrays (JSON.stringify writes typed arrays as objects). */
export function rows(values: readonly Float32Array[]): number[][] {
  return values.map((row) => [...row]);
}

/** A table of numbers with row and column labels, labels shortened to keep columns narrow. */
export function formatMatrix(values: readonly ArrayLike<number>[], rowLabels: readonly string[], columnLabels: readonly string[], digits = 3): string {
  const short = (label: string) => (label.length > 24 ? `${label.slice(0, 23)}…` : label);
  const cells = values.map((row) => Array.from(row, (v) => v.toFixed(digits)));
  const head = columnLabels.map(short);
  const widths = head.map((label, j) => Math.max(label.length, ...cells.map((row) => row[j]!.length)));
  const first = Math.max(0, ...rowLabels.map((label) => short(label).length));
  const line = (label: string, items: string[]) => [label.padEnd(first), ...items.map((item, j) => item.padStart(widths[j]!))].join('  ');
  return [line('', head), ...cells.map((row, i) => line(short(rowLabels[i]!), row))].join('\n');
}

export function percent(fraction: number): string {
  return `${(100 * fraction).toFixed(1)}%`;
}
