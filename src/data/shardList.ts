/**
 * Shard lists as webdataset and the reference's --train-data take them: "a.tar,b.tar", and brace patterns as
 * Python's braceexpand expands them ("shards-{0000..0009}.tar": zero-padded numeric ranges, "{a,b}" alternatives,
 * "{1..9..2}" steps, "{a..e}" letters, nested braces).
 */

/** Splits `text` at the commas outside braces. */
function splitTopLevel(text: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '{') depth++;
    else if (c === '}') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts;
}

/** The index of the brace that closes the one at `open`, or -1. */
function closingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

const RANGE = /^(-?\d+)\.\.(-?\d+)(?:\.\.(-?\d+))?$|^([a-zA-Z])\.\.([a-zA-Z])(?:\.\.(-?\d+))?$/;

/** The values of "0000..0009", "1..9..2" or "a..e"; null when `body` is not a range. */
function rangeValues(body: string): string[] | null {
  const m = RANGE.exec(body);
  if (!m) return null;
  const numeric = m[1] !== undefined;
  const [from, to] = numeric ? [Number(m[1]), Number(m[2])] : [m[4]!.charCodeAt(0), m[5]!.charCodeAt(0)];
  const step = Math.abs(Number((numeric ? m[3] : m[6]) ?? 1)) || 1;
  const width = numeric && (/^-?0\d/.test(m[1]!) || /^-?0\d/.test(m[2]!)) ? Math.max(m[1]!.length, m[2]!.length) : 0;
  const values: string[] = [];
  const direction = to >= from ? 1 : -1;
  for (let v = from; direction > 0 ? v <= to : v >= to; v += direction * step) {
    if (!numeric) values.push(String.fromCharCode(v));
    else values.push(v < 0 ? `-${String(-v).padStart(width - 1, '0')}` : String(v).padStart(width, '0'));
  }
  return values;
}

/** Every string `pattern` stands for, in braceexpand's order. */
export function braceExpand(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) return [pattern];
  const close = closingBrace(pattern, open);
  if (close < 0) throw new Error(`${pattern}: a "{" is never closed`);
  const body = pattern.slice(open + 1, close);
  const head = pattern.slice(0, open);
  const tails = braceExpand(pattern.slice(close + 1));
  const range = rangeValues(body);
  const alternatives = range ?? (body.includes(',') ? splitTopLevel(body).flatMap(braceExpand) : [`{${body}}`]);
  return alternatives.flatMap((middle) => tails.map((tail) => head + middle + tail));
}

/** "a.tar,b.tar" or "shards-{0000..0009}.tar" (or both, comma-separated) as the list of shard paths. */
export function shardPaths(spec: string): string[] {
  const paths = splitTopLevel(spec)
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .flatMap(braceExpand);
  if (paths.length === 0) throw new Error(`${JSON.stringify(spec)} names no shard`);
  return paths;
}

/** Whether a --data value names webdataset shards (it ends in .tar, or a pattern of them) rather than a folder or zip. */
export function namesShards(spec: string): boolean {
  try {
    return shardPaths(spec).every((path) => path.toLowerCase().endsWith('.tar'));
  } catch {
    return false;
  }
}
