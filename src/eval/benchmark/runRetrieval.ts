/**
 * Zero-shot retrieval over a data set with several captions per image (COCO, Flickr30k, shards), every model in one
 * pass over the images: each batch's normalized image embeddings are kept on the host (N x E floats: what ranking
 * needs, the images themselves are not kept), then every caption is encoded, and the cosine similarities are
 * computed on the GPU a block of rows at a time (never the whole images x captions matrix) and ranked on the host
 * (retrievalMetrics.ts).
 */
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { preprocessForClip } from '../../data/preprocess.ts';
import { noGrad } from '../../tensor/engine.ts';
import { matmul } from '../../tensor/ops/matmul.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import { type Tensor, fromArray } from '../../tensor/tensor.ts';
import { imageEmbeddings, textEmbeddings } from '../batched.ts';
import { throwIfCancelled } from './imageBatches.ts';
import { ProgressMeter } from './progress.ts';
import { type RetrievalMetrics, rankOf, retrievalMetrics } from './retrievalMetrics.ts';
import { type EvalHooks, type EvalReport, type EvalModel, gpuOf, overImages, sizesOf } from './run.ts';
import type { EvalSource } from './source.ts';

export interface RetrievalReport extends EvalReport {
  texts: number;
  results: { label: string; metrics: RetrievalMetrics }[];
}

/** Captions encoded per GPU call. */
const CAPTIONS_PER_CALL = 256;
/** Similarity rows per GPU call: a block of rows x all candidates stays a few megabytes. */
const RANK_ROWS = 64;

/** Host rows of E floats, appended a batch at a time. */
class Rows {
  private chunks: Float32Array[] = [];
  count = 0;
  constructor(readonly width: number) {}
  push(values: Float32Array): void {
    this.chunks.push(values);
    this.count += values.length / this.width;
  }
  all(): Float32Array {
    const out = new Float32Array(this.count * this.width);
    let at = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    this.chunks = [out];
    return out;
  }
}

/**
 * Ranks of every row of `queries` [Q, E] against `candidates` [N, E] (host rows), the right candidates of query q being
 * `positives(q)`.
 */
async function ranks(
  queries: Float32Array,
  candidates: Tensor,
  width: number,
  positives: (q: number) => readonly number[],
  hooks: EvalHooks,
  meter: ProgressMeter,
): Promise<Int32Array> {
  const gpu = gpuOf(hooks);
  const count = queries.length / width;
  const n = candidates.shape[0]!;
  const out = new Int32Array(count);
  for (let start = 0; start < count; start += RANK_ROWS) {
    throwIfCancelled(hooks.signal, `ranking ${start} of ${count}`);
    const rows = Math.min(RANK_ROWS, count - start);
    const block = queries.subarray(start * width, (start + rows) * width);
    const scores = await gpu(() => scopeAsync(() => noGrad(() => matmul(fromArray(block, [rows, width]), candidates, { transB: true })).readFloat()));
    for (let r = 0; r < rows; r++) out[start + r] = rankOf(scores, r, n, positives(start + r));
    meter.advance(rows);
  }
  return out;
}

export async function evaluateRetrieval(
  models: readonly EvalModel[],
  source: EvalSource,
  tokenizer: ClipTokenizer,
  hooks: EvalHooks,
): Promise<RetrievalReport> {
  const gpu = gpuOf(hooks);
  const imageRows = models.map(({ model }) => new Rows(model.config.embedDim));
  const captions: string[] = [];
  /** Image i's captions are captions[firstCaption[i] .. firstCaption[i + 1]). */
  const firstCaption: number[] = [0];
  const counts = await overImages(source, hooks, async (batch) => {
    const inputs = new Map(sizesOf(models).map((size) => [size, batch.map(({ rgb }) => preprocessForClip(rgb, size))]));
    for (const [m, { model }] of models.entries()) {
      const pixels = inputs.get(model.config.vision.imageSize)!;
      imageRows[m]!.push(await gpu(() => scopeAsync(() => imageEmbeddings(model, pixels).readFloat())));
    }
    for (const { image } of batch) {
      captions.push(...image.captions!);
      firstCaption.push(captions.length);
    }
  });
  const captionImage = new Int32Array(captions.length);
  for (let i = 0; i + 1 < firstCaption.length; i++) captionImage.fill(i, firstCaption[i]!, firstCaption[i + 1]!);
  const imageCaptions = (i: number) => Array.from({ length: firstCaption[i + 1]! - firstCaption[i]! }, (_, k) => firstCaption[i]! + k);
  const results: RetrievalReport['results'] = [];
  for (const [m, evalModel] of models.entries()) {
    const { model } = evalModel;
    const width = model.config.embedDim;
    const textRows = new Rows(width);
    const captionMeter = new ProgressMeter('captions', captions.length, hooks.onProgress);
    for (let start = 0; start < captions.length; start += CAPTIONS_PER_CALL) {
      throwIfCancelled(hooks.signal, `${start} of ${captions.length} captions`);
      const ids = tokenizer.rowsFor(captions.slice(start, start + CAPTIONS_PER_CALL), model.config.text);
      textRows.push(await gpu(() => scopeAsync(() => textEmbeddings(model, ids).readFloat())));
      captionMeter.advance(ids.length);
    }
    const images = imageRows[m]!.all();
    const texts = textRows.all();
    const rankMeter = new ProgressMeter('ranking', counts.images + captions.length, hooks.onProgress);
    const textTensor = await gpu(async () => fromArray(texts, [captions.length, width]).keep());
    const imageTensor = await gpu(async () => fromArray(images, [counts.images, width]).keep());
    try {
      const imageToText = await ranks(images, textTensor, width, imageCaptions, hooks, rankMeter);
      const textToImage = await ranks(texts, imageTensor, width, (t) => [captionImage[t]!], hooks, rankMeter);
      results.push({ label: evalModel.label, metrics: retrievalMetrics(imageToText, textToImage) });
    } finally {
      await gpu(async () => {
        textTensor.dispose();
        imageTensor.dispose();
      });
    }
  }
  return { ...counts, texts: captions.length, results };
}
