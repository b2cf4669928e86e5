/** Loads the shipped CLIP vocabulary (public/tokenizer/) from disk, for Node: tests, the CLI, benchmarks. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ClipTokenizer, TOKENIZER_FILE } from './tokenizer.ts';

export const PUBLIC_TOKENIZER_DIR = join(import.meta.dirname, '..', '..', 'public', 'tokenizer');

export async function loadClipTokenizer(dir = PUBLIC_TOKENIZER_DIR): Promise<ClipTokenizer> {
  return ClipTokenizer.fromMerges(await readFile(join(dir, TOKENIZER_FILE), 'utf8'));
}
