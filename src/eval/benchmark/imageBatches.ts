/**
 * The images of an evaluation decoded a batch at a time, a few decodes ahead of the GPU: memory holds at most a batch
 * and the look-ahead, whatever the size of the data set. An image that does not decode is reported and left out.
 */
import type { RgbImage } from '../../data/image.ts';
import type { ImageDecoder, SkippedFile } from '../../data/userData.ts';
import { errorReason } from '../../data/userData.ts';
import type { EvalImage } from './source.ts';

/** Decodes in flight beyond the batch being filled. */
const LOOK_AHEAD = 4;

export interface DecodedImage {
  image: EvalImage;
  rgb: RgbImage;
}

/** Stops the run between batches once the signal is aborted (Cancel in the page, Ctrl-C in the CLI). */
export class EvaluationCancelled extends Error {
  override name = 'EvaluationCancelled';
}

export function throwIfCancelled(signal: AbortSignal | undefined, done: string): void {
  if (signal?.aborted) throw new EvaluationCancelled(`cancelled after ${done}`);
}

export async function* decodedBatches(
  images: AsyncIterable<EvalImage>,
  decode: ImageDecoder,
  batchSize: number,
  skip: (s: SkippedFile) => void,
): AsyncGenerator<DecodedImage[]> {
  const decodeOne = async (image: EvalImage): Promise<DecodedImage | null> => {
    try {
      return { image, rgb: await decode(await image.read(), image.where) };
    } catch (e) {
      skip({ path: image.where, reason: errorReason(e, image.where) });
      return null;
    }
  };
  const queue: Promise<DecodedImage | null>[] = [];
  let batch: DecodedImage[] = [];
  const take = async function* (keep: number): AsyncGenerator<DecodedImage[]> {
    while (queue.length > keep) {
      const decoded = await queue.shift()!;
      if (decoded) batch.push(decoded);
      if (batch.length === batchSize) {
        yield batch;
        batch = [];
      }
    }
  };
  for await (const image of images) {
    queue.push(decodeOne(image));
    yield* take(LOOK_AHEAD);
  }
  yield* take(0);
  if (batch.length > 0) yield batch;
}
