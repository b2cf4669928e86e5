/**
 * CLIP's byte-level BPE tokenizer, token for token the same as OpenCLIP's SimpleTokenizer (clean='lower', the
 * default of every CLIP model config): bpe_simple_vocab_16e6, 49,408 ids, SOT 49406, EOT 49407, 0 for padding.
 *
 * Text cleaning follows OpenCLIP's `_clean_lower`: ftfy.fix_text, html.unescape twice, strip, collapse
 * whitespace, lower-case. ftfy's heuristic mojibake repair is the one part not reproduced (see ftfy-lite.ts).
 * Letters and digits are the JS engine's Unicode properties: a character newer than the reference's Unicode
 * tables (Python's `regex` module) is a letter or digit here and a symbol there; every older one agrees
 * (checked over all code points against Debian's regex 2022.10.31).
 *
 * Checked against OpenCLIP itself: fixtures/tokenizer.json (scripts/fixtures/tokenizer.py).
 */
import { ftfyFixText } from './ftfy-lite.ts';
import { pyHtmlUnescape } from './html-unescape.ts';

export const SOT_TOKEN = '<start_of_text>';
export const EOT_TOKEN = '<end_of_text>';
export const CONTEXT_LENGTH = 77;
/** The merges OpenCLIP keeps of the file: merges[1:49152-256-2+1]. */
const MERGE_COUNT = 49152 - 256 - 2;
/** The shipped vocabulary file, under public/tokenizer/ (built by scripts/build-vocab.mjs). */
export const TOKENIZER_FILE = 'bpe_simple_vocab_16e6.txt';

/** Python's str.isspace(): what OpenCLIP's strip() and split() remove. */
const PY_SPACE = '\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000';
const SPACE_RUN = new RegExp(`[${PY_SPACE}]+`, 'g');

// OpenCLIP's pattern under the `regex` module with IGNORECASE. Its \s is the White_Space property, written out
// because JS's \s differs (it has U+FEFF, lacks U+0085).
const WORD = new RegExp(`${SOT_TOKEN}|${EOT_TOKEN}|'s|'t|'re|'ve|'m|'ll|'d|\\p{L}+|\\p{N}|[^\\p{White_Space}\\p{L}\\p{N}]+`, 'giu');
// U+0345 folds to a Greek iota: JS's /iu counts it as a letter, the `regex` module matches it with no branch
// and skips it. A space in its place is skipped here too, and still ends the word it interrupts.
const YPOGEGRAMMENI = /\u0345/g;

/** GPT-2's reversible byte -> printable character table: printable bytes stand for themselves, the others
 * (controls, space, soft hyphen) take U+0100 onwards in byte order. */
export function bytesToUnicode(): string[] {
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0x100;
  return Array.from({ length: 256 }, (_, b) => String.fromCharCode(printable(b) ? b : next++));
}

/** OpenCLIP's `_clean_lower`, less ftfy's mojibake repair. */
export function cleanText(text: string): string {
  const unescaped = pyHtmlUnescape(pyHtmlUnescape(ftfyFixText(text)));
  return unescaped.replace(SPACE_RUN, ' ').replace(/^ | $/g, '').toLowerCase();
}

export class ClipTokenizer {
  readonly vocabSize: number;
  readonly sotId: number;
  readonly eotId: number;
  private readonly byteEncoder = bytesToUnicode();
  private readonly byteDecoder = new Map(this.byteEncoder.map((c, b) => [c, b]));
  private readonly encoder = new Map<string, number>();
  private readonly ranks = new Map<string, number>();
  private readonly cache = new Map<string, number[]>();
  private readonly utf8 = new TextEncoder();

  /** The vocabulary in id order: bytes, bytes + '</w>', merges, specials. */
  readonly vocab: readonly string[];

  private constructor(merges: string[][]) {
    // OpenCLIP's list(bytes_to_unicode().values()): printable bytes first, so in code point order.
    const bytes = [...this.byteEncoder].sort((a, b) => a.charCodeAt(0) - b.charCodeAt(0));
    const vocab = [...bytes, ...bytes.map((c) => `${c}</w>`), ...merges.map((m) => m.join('')), SOT_TOKEN, EOT_TOKEN];
    for (const [id, token] of vocab.entries()) this.encoder.set(token, id); // a repeated token keeps its last id, like a dict
    for (const [rank, [a, b]] of merges.entries()) this.ranks.set(`${a} ${b}`, rank);
    this.vocab = vocab;
    this.vocabSize = this.encoder.size;
    this.sotId = this.encoder.get(SOT_TOKEN)!;
    this.eotId = this.encoder.get(EOT_TOKEN)!;
    this.cache.set(SOT_TOKEN, [this.sotId]);
    this.cache.set(EOT_TOKEN, [this.eotId]);
  }

  /** From the text of a bpe_simple_vocab file: a version line, then one merge ("a b") per line. */
  static fromMerges(mergesText: string): ClipTokenizer {
    const lines = mergesText.split('\n').slice(1, MERGE_COUNT + 1);
    if (lines.length !== MERGE_COUNT) throw new Error(`expected ${MERGE_COUNT} merges, got ${lines.length}`);
    // Python's str.split() with no argument: a merge line is two symbols separated by one space.
    return new ClipTokenizer(lines.map((line) => line.trim().split(' ')));
  }

  /** The shipped vocabulary, fetched from the app's public/tokenizer/ (a browser or worker). */
  static async load(baseUrl = '/tokenizer/'): Promise<ClipTokenizer> {
    const response = await fetch(new URL(TOKENIZER_FILE, new URL(baseUrl, globalThis.location?.href)));
    if (!response.ok) throw new Error(`tokenizer vocabulary: HTTP ${response.status} for ${response.url}`);
    return ClipTokenizer.fromMerges(await response.text());
  }

  /** BPE ids of a text, without SOT/EOT (OpenCLIP's `encode`). */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [word] of cleanText(text).replace(YPOGEGRAMMENI, ' ').matchAll(WORD)) {
      let wordIds = this.cache.get(word);
      if (!wordIds) {
        wordIds = this.bpe(Array.from(this.utf8.encode(word), (b) => this.byteEncoder[b]!).join(''));
        this.cache.set(word, wordIds);
      }
      for (const id of wordIds) ids.push(id);
    }
    return ids;
  }

  /** SOT + ids + EOT, zero-padded to `contextLength`; longer texts are cut and end with EOT (OpenCLIP's `__call__`). */
  tokenize(texts: string[], contextLength = CONTEXT_LENGTH): Int32Array[] {
    return texts.map((text) => {
      const row = new Int32Array(contextLength);
      const ids = [this.sotId, ...this.encode(text), this.eotId];
      row.set(ids.length > contextLength ? ids.slice(0, contextLength) : ids);
      if (ids.length > contextLength) row[contextLength - 1] = this.eotId;
      return row;
    });
  }

  /**
   * Token id rows for a text tower of `contextLength` positions and `vocabSize` ids, refusing a text with an id the
   * tower has no embedding for (a model trained with a cut vocabulary).
   */
  rowsFor(texts: readonly string[], tower: { contextLength: number; vocabSize: number }): Int32Array[] {
    const rows = this.tokenize([...texts], tower.contextLength);
    for (const [i, row] of rows.entries()) {
      const id = row.find((v) => v >= tower.vocabSize);
      if (id !== undefined) {
        throw new Error(
          `the text ${JSON.stringify(texts[i])} has token id ${id}, but this model's vocabulary has only ${tower.vocabSize} ids ` +
            `(the CLIP tokenizer needs ${this.vocabSize}): load a model with the full CLIP vocabulary`,
        );
      }
    }
    return rows;
  }

  /** Text of ids: '</w>' becomes a space, invalid UTF-8 becomes U+FFFD (OpenCLIP's `decode`). */
  decode(ids: ArrayLike<number>): string {
    const bytes: number[] = [];
    for (const id of Array.from(ids)) {
      const token = this.vocab[id];
      if (token === undefined) throw new Error(`token id ${id} is outside the vocabulary`);
      for (const char of token) bytes.push(this.byteDecoder.get(char)!);
    }
    return new TextDecoder().decode(new Uint8Array(bytes)).replaceAll('</w>', ' ');
  }

  /** Merges the lowest-ranked adjacent pair, everywhere left to right, until no pair is a merge. */
  private bpe(token: string): number[] {
    let word = Array.from(token);
    word[word.length - 1] += '</w>';
    while (word.length > 1) {
      let best = Infinity;
      let first = '';
      let second = '';
      for (let i = 0; i + 1 < word.length; i++) {
        const rank = this.ranks.get(`${word[i]} ${word[i + 1]}`);
        if (rank !== undefined && rank < best) [best, first, second] = [rank, word[i]!, word[i + 1]!];
      }
      if (best === Infinity) break;
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (word[i] === first && word[i + 1] === second) {
          merged.push(first + second);
          i++;
        } else {
          merged.push(word[i]!);
        }
      }
      word = merged;
    }
    return word.map((token) => this.encoder.get(token)!);
  }
}
