/**
 * Captions-file mutations (captions.jsonl, captions.csv, per-image .txt): lines nested twenty thousand deep,
 * a hundred kilobytes of one caption, keys given twice, values of the wrong type, paths that climb out or name nothing,
 * a quote never closed, thousands of columns or empty lines, byte-order marks, NULs, invalid UTF-8; or the bytes
 * mutated.
 */
import type { Random } from '../../data/random.ts';
import { type Mutation, below, concatBytes, mutateBytes, pick } from './mutate.ts';

const utf8 = new TextEncoder();
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

const LINES: readonly ((random: Random) => string)[] = [
  (random) => `{"file": "a.png", "caption": ${'['.repeat(1 + below(random, 20_000))}"x"${']'.repeat(1 + below(random, 20_000))}}`,
  (random) => `{"file": "a.png", "caption": "${'word '.repeat(1 + below(random, 20_000))}"}`,
  () => '{"file": "a.png", "file": "b.png", "caption": "twice", "caption": "named"}',
  (random) => `{"file": ${pick(random, ['1', 'null', '[]', '{}', 'true', '"../../../etc/passwd"', '"a.png\\u0000"', '""', '"/"'])}, "caption": "c"}`,
  (random) => `{"image": "b.png", "text": ${pick(random, ['[]', '[1, 2]', '["", " "]', '{"a": 1}', '1e999', '"\\ud800"'])}}`,
  () => '\ufeff{"file": "c.png", "caption": "a mark in front"}',
  (random) => '\n'.repeat(1 + below(random, 20_000)),
  () => '{"file": "a.png", "caption": "unterminated',
];

const CSV_ROWS: readonly ((random: Random) => string)[] = [
  () => 'a.png,"a quote never closed\nb.png,second',
  (random) => Array.from({ length: 1 + below(random, 20_000) }, (_, i) => `c${i}`).join(','),
  () => 'image,image,caption,caption\na.png,b.png,one,two',
  () => 'file;caption\na.png;semicolons',
  (random) => `b.png,"${'""'.repeat(1 + below(random, 50_000))}"`,
  () => '\ufeffimage,caption\r\nc.png,crlf\r',
  () => '\u0000,\u0000',
];

/** Inserts one generated line at a random line break of the text. */
function insertLine(random: Random, bytes: Uint8Array, lines: readonly ((random: Random) => string)[]): Uint8Array {
  const source = text(bytes).split('\n');
  source.splice(below(random, source.length + 1), 0, pick(random, lines)(random));
  return utf8.encode(source.join('\n'));
}

const INVALID_UTF8 = Uint8Array.of(0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, 0xf0, 0x90, 0x28, 0xbc, 0xff, 0xfe);

const invalidUtf8: Mutation = (random, bytes) => {
  const at = below(random, bytes.length + 1);
  return concatBytes(bytes.subarray(0, at), INVALID_UTF8.subarray(below(random, INVALID_UTF8.length)), bytes.subarray(at));
};

export const mutateJsonl: Mutation = (random, bytes) =>
  pick(random, [() => insertLine(random, bytes, LINES), () => invalidUtf8(random, bytes), () => mutateBytes(random, bytes)])();

export const mutateCsv: Mutation = (random, bytes) =>
  pick(random, [() => insertLine(random, bytes, CSV_ROWS), () => invalidUtf8(random, bytes), () => mutateBytes(random, bytes)])();

export const mutateTxt: Mutation = (random, bytes) =>
  pick(random, [
    () => new Uint8Array(0),
    () => utf8.encode(' \n\t\r\n '),
    () => utf8.encode(`\ufeff${'sentence. '.repeat(1 + below(random, 20_000))}`),
    () => invalidUtf8(random, bytes),
    () => mutateBytes(random, bytes),
  ])();
