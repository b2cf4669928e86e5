/**
 * The two HTML-entity decoders OpenCLIP's text cleaning runs: Python's `html.unescape` (lenient: entities
 * without a semicolon, longest-prefix names, numeric references with the HTML5 error fixes) and ftfy's stricter
 * `unescape_html` (semicolon-terminated names only, plus all-caps Latin names such as `&EACUTE;`).
 * Both read Python's html.entities.html5 table (src/data/html5-entities.json, written by scripts/build-vocab.mjs).
 */
import html5 from './html5-entities.json';

/** Windows-1252 for bytes 0x80-0x9f, the 5 undefined ones kept as C1 (the WHATWG table, ftfy's "sloppy" codec). */
export const WINDOWS_1252_C1 =
  '\u20ac\x81\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\x8d\u017d\x8f' +
  '\x90\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\x9d\u017e\u0178';

const ENTITIES = new Map(Object.entries(html5 as Record<string, string>));

// Python's html._charref: the named part stops at tab, newline, form feed, space, '<', '&', '#' or ';'.
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu;

/** Code points a numeric reference decodes to nothing (Python's html._invalid_codepoints). */
function isInvalidCodepoint(cp: number): boolean {
  return (
    (cp >= 0x1 && cp <= 0x8) ||
    cp === 0xb ||
    (cp >= 0xe && cp <= 0x1f) ||
    (cp >= 0x7f && cp <= 0x9f) ||
    (cp >= 0xfdd0 && cp <= 0xfdef) ||
    (cp & 0xfffe) === 0xfffe
  );
}

function numericCharref(ref: string): string {
  const hex = ref[1] === 'x' || ref[1] === 'X';
  const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '');
  const cp = parseInt(digits, hex ? 16 : 10); // huge values lose precision but stay > 0x10ffff
  if (cp === 0) return '\ufffd';
  if (cp === 0x0d) return '\r';
  if (cp >= 0x80 && cp <= 0x9f) return WINDOWS_1252_C1[cp - 0x80]!;
  if ((cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return '\ufffd';
  if (isInvalidCodepoint(cp)) return '';
  return String.fromCodePoint(cp);
}

function namedCharref(ref: string): string {
  const whole = ENTITIES.get(ref);
  if (whole !== undefined) return whole;
  // The longest name that prefixes the reference ("&notit;" is "¬it;"); names are ASCII, so UTF-16 slicing
  // visits the same candidate prefixes as Python's code-point slicing.
  for (let end = ref.length - 1; end > 1; end--) {
    const value = ENTITIES.get(ref.slice(0, end));
    if (value !== undefined) return value + ref.slice(end);
  }
  return `&${ref}`;
}

/** Python's `html.unescape`. */
export function pyHtmlUnescape(text: string): string {
  if (!text.includes('&')) return text;
  return text.replace(CHARREF, (_match, ref: string) => (ref[0] === '#' ? numericCharref(ref) : namedCharref(ref)));
}

/** ftfy's entity table: every semicolon-terminated name, and all-caps forms of lower-case names nobody else owns. */
function buildStrictEntities(): Map<string, string> {
  const table = new Map<string, string>();
  for (const [name, char] of ENTITIES) {
    if (!name.endsWith(';')) continue;
    table.set(`&${name}`, char);
    if (name === name.toLowerCase()) {
      const upper = `&${name.toUpperCase()}`;
      if (pyHtmlUnescape(upper) === upper) table.set(upper, char.toUpperCase());
    }
  }
  return table;
}

let strictEntities: Map<string, string> | null = null;
const STRICT_ENTITY = /&#?[0-9A-Za-z]{1,24};/g;

/** ftfy's `unescape_html`: leaves "this&not that" alone, decodes "P&EACUTE;REZ". */
export function ftfyUnescapeHtml(text: string): string {
  if (!text.includes('&')) return text;
  strictEntities ??= buildStrictEntities();
  const table = strictEntities;
  return text.replace(STRICT_ENTITY, (entity) => {
    const char = table.get(entity);
    if (char !== undefined) return char;
    if (!entity.startsWith('&#')) return entity;
    // A numeric reference only counts when Python decodes all of it, semicolon included.
    const decoded = pyHtmlUnescape(entity);
    return decoded.includes(';') ? entity : decoded;
  });
}
