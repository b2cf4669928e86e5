/**
 * The deterministic part of `ftfy.fix_text` (ftfy 6, default settings), which OpenCLIP runs on every caption.
 *
 * Reproduced, in ftfy's order and repeated until nothing changes: HTML entities (ftfy's strict decoder, off from
 * the first line that contains '<' onwards), C1 controls read as Windows-1252, Latin ligatures, full/half-width
 * forms, curly quotes, line breaks, lone surrogates, ANSI terminal escapes, control characters, NFC.
 *
 * Not reproduced: ftfy's heuristic encoding repair (`fix_encoding`: mojibake such as "cafÃ©" -> "café", with
 * restore_byte_a0, replace_lossy_sequences, decode_inconsistent_utf8). It needs ftfy's badness model and
 * codec tables; text it would repair tokenizes differently here (fixtures/tokenizer.json lists examples).
 * Lines longer than ftfy's max_decode_length (10^6 code points) are fixed as one segment, not cut.
 */
import { ftfyUnescapeHtml, WINDOWS_1252_C1 } from './html-unescape.ts';

const LIGATURES: Record<string, string> = {
  '\u0132': 'IJ',
  '\u0133': 'ij',
  '\u0149': '\u02bcn',
  '\u01f1': 'DZ',
  '\u01f2': 'Dz',
  '\u01f3': 'dz',
  '\u01c4': 'D\u017d',
  '\u01c5': 'D\u017e',
  '\u01c6': 'd\u017e',
  '\u01c7': 'LJ',
  '\u01c8': 'Lj',
  '\u01c9': 'lj',
  '\u01ca': 'NJ',
  '\u01cb': 'Nj',
  '\u01cc': 'nj',
  '\ufb00': 'ff',
  '\ufb01': 'fi',
  '\ufb02': 'fl',
  '\ufb03': 'ffi',
  '\ufb04': 'ffl',
  '\ufb05': '\u017ft',
  '\ufb06': 'st',
};
const LIGATURE = /[\u0132\u0133\u0149\u01c4-\u01cc\u01f1-\u01f3\ufb00-\ufb06]/g;

/** Halfwidth and fullwidth forms (U+FF01-U+FFEF) to their NFKC form, and the ideographic space to a space. */
const WIDTH_MAP = new Map<string, string>([['\u3000', ' ']]);
for (let cp = 0xff01; cp < 0xfff0; cp++) {
  const char = String.fromCharCode(cp);
  const normal = char.normalize('NFKC');
  if (normal !== char) WIDTH_MAP.set(char, normal);
}
const WIDE = /[\u3000\uff01-\uffef]/g;

const C1_CONTROL = /[\x80-\x9f]/g;
const SINGLE_QUOTE = /[\u02bc\u2018-\u201b]/g;
const DOUBLE_QUOTE = /[\u201c-\u201f]/g;
const LINE_BREAK = /\r\n|[\r\u2028\u2029\x85]/g;
const LONE_SURROGATE = /[\ud800-\udfff]/gu; // with the u flag a valid pair is one code point and never matches
// biome-ignore lint/suspicious/noControlCharactersInRegex: ftfy removes terminal escapes, which start with ESC
const TERMINAL_ESCAPE = /\x1b\[(?:\p{Nd}|;)*[a-zA-Z]/gu; // Python's re \d is any decimal digit
// biome-ignore lint/suspicious/noControlCharactersInRegex: ftfy removes exactly these control characters
const CONTROL_CHAR = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g;

function fixSegment(segment: string, unescapeHtml: boolean): string {
  let text = segment;
  for (;;) {
    const before = text;
    if (unescapeHtml) text = ftfyUnescapeHtml(text);
    text = text
      .replace(C1_CONTROL, (c) => WINDOWS_1252_C1[c.charCodeAt(0) - 0x80]!)
      .replace(LIGATURE, (c) => LIGATURES[c]!)
      .replace(WIDE, (c) => WIDTH_MAP.get(c) ?? c)
      .replace(SINGLE_QUOTE, "'")
      .replace(DOUBLE_QUOTE, '"')
      .replace(LINE_BREAK, '\n')
      .replace(LONE_SURROGATE, '\ufffd')
      .replace(TERMINAL_ESCAPE, '')
      .replace(CONTROL_CHAR, '')
      .normalize('NFC');
    if (text === before) return text;
  }
}

/** `ftfy.fix_text(text)` without the encoding repair: fixes each line on its own, like ftfy. */
export function ftfyFixText(text: string): string {
  let unescapeHtml = true; // ftfy's unescape_html="auto": a line with '<' looks like HTML, and so do all after it
  const out: string[] = [];
  for (let start = 0; start < text.length; ) {
    const end = text.indexOf('\n', start) + 1 || text.length;
    const segment = text.slice(start, end);
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false;
    out.push(fixSegment(segment, unescapeHtml));
    start = end;
  }
  return out.join('');
}
