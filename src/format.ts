/** How numbers and errors read in the sentences every layer writes for people: byte sizes, counts, messages. */

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

const trimmed = (value: number): string => String(Number(value.toFixed(2)));

/** 1073741824 -> "1 GiB", 32768 -> "32 KiB", 65536 * 3 -> "192 KiB". */
export function formatBytes(bytes: number): string {
  if (bytes >= GiB) return `${trimmed(bytes / GiB)} GiB`;
  if (bytes >= MiB) return `${trimmed(bytes / MiB)} MiB`;
  if (bytes >= KiB) return `${trimmed(bytes / KiB)} KiB`;
  return `${bytes} B`;
}

export const formatCount = (n: number): string => n.toLocaleString('en-US');

/** The sentence of anything thrown: an Error's message, else the value as text. */
export const errorMessage = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** Text from a hostile file (a parser's complaint quoting its bytes) made fit for a one-line sentence: control characters shown as "?", at most `max` characters. */
export function printable(text: string, max = 120): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}
