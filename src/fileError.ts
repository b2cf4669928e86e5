/**
 * What every reader of the files people bring (checkpoints, archives, images) throws when a file cannot be read as
 * what it should be: one sentence that names the file and the problem. Anything else a reader throws is a bug of
 * ours, which is how the fuzz tests (src/testing/fuzz) tell a refusal from a crash.
 */
import { printable } from './format.ts';

export class FileError extends Error {
  override name = 'FileError';

  constructor(
    /** The file as the sentence names it (a path, a file name, or an entry of an archive). */
    readonly file: string,
    sentence: string,
    options?: ErrorOptions,
  ) {
    // Names quoted from a hostile file may hold line breaks: the sentence stays one line.
    super(printable(sentence, Number.POSITIVE_INFINITY), options);
  }
}
