/**
 * `cosmos loss`: the COSMOS loss terms of one batch of fixed views, as the reference's training step computes them:
 * the student (the checkpoint's student weights) on every view and caption, the teacher (its teacher weights) on
 * the two global images and the two global captions. B.json lists, per sample, 2 global images at the model's image
 * size, local images (square, smaller), and captions (2 global, then local), paths relative to B.json. Images are
 * used as given, with CLIP normalization only.
 */
import { readFile } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { ClipModel } from '../cosmos/model.ts';
import { lossTerms, type ViewBatch } from '../cosmos/objective.ts';
import type { RgbImage } from '../data/image.ts';
import { decodeImageFile } from '../data/image-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { stackRows } from '../eval/batched.ts';
import { normalizeForClip } from '../data/preprocess.ts';
import { noGrad } from '../tensor/engine.ts';
import { scopeAsync } from '../tensor/scope.ts';
import type { Tensor } from '../tensor/tensor.ts';
import { defineCommand } from './command.ts';
import { loadModel, requireCosmos } from './inputs.ts';

export interface BatchSample {
  global_images: string[];
  local_images: string[];
  captions: string[];
}

const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.every((s) => typeof s === 'string');

/** Checks the shape of B.json: every sample with 2 global images and the same numbers of local images and captions. */
export function parseBatch(file: string, json: unknown): BatchSample[] {
  const samples = (json as { samples?: unknown } | null)?.samples;
  if (!Array.isArray(samples) || samples.length === 0) throw new Error(`${file}: expected {"samples": [...]} with at least one sample`);
  return samples.map((sample: Partial<Record<keyof BatchSample, unknown>>, i) => {
    const where = `${file}: samples[${i}]`;
    for (const key of ['global_images', 'local_images', 'captions'] as const) {
      if (!isStrings(sample?.[key])) throw new Error(`${where}.${key} must be a list of strings`);
    }
    const s = sample as BatchSample;
    if (s.global_images.length !== 2) throw new Error(`${where} has ${s.global_images.length} global images; COSMOS takes 2`);
    if (s.captions.length < 2) throw new Error(`${where} has ${s.captions.length} captions; the first 2 are the global ones, so at least 2`);
    const first = samples[0] as BatchSample;
    if (s.local_images.length !== first.local_images.length || s.captions.length !== first.captions.length) {
      throw new Error(
        `${where} has ${s.local_images.length} local images and ${s.captions.length} captions, samples[0] ` +
          `${first.local_images.length} and ${first.captions.length}: every sample needs the same views`,
      );
    }
    return s;
  });
}

/** Decodes the images of one view across samples and checks their size: `size` for global views, or square and smaller. */
async function viewImages(paths: string[], labels: string[], model: ClipModel, global: boolean): Promise<RgbImage[]> {
  const { imageSize: s, patchSize: p } = model.config.vision;
  const images = await Promise.all(paths.map((path) => decodeImageFile(path)));
  images.forEach((image, i) => {
    const size = `${basename(paths[i]!)} (${labels[i]}) is ${image.width}x${image.height}`;
    if (global && (image.width !== s || image.height !== s)) throw new Error(`${size}: global images must be ${s}x${s}, the model's image size`);
    if (!global) {
      if (image.width !== image.height || image.width >= s || image.width % p !== 0) {
        throw new Error(`${size}: local images must be square, smaller than ${s} and a multiple of the patch size ${p}`);
      }
      if (image.width !== images[0]!.width)
        throw new Error(`${size}, ${labels[0]} is ${images[0]!.width}x${images[0]!.width}: local images must all be one size`);
    }
  });
  return images;
}

export const lossCommand = defineCommand({
  name: 'loss',
  summary: 'L_clip, L_cosmos and their sum on one batch of fixed views (student and teacher from the checkpoint)',
  flags: {
    checkpoint: { kind: 'string', required: true, value: 'F.pt' },
    config: { kind: 'string', value: 'C.json' },
    batch: { kind: 'string', required: true, value: 'B.json' },
  },
  async run(flags, ctx) {
    let json: unknown;
    try {
      json = JSON.parse(await readFile(flags.batch, 'utf8'));
    } catch (error) {
      throw new Error(`${flags.batch}: cannot read the batch (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
    }
    const samples = parseBatch(flags.batch, json);
    const at = (path: string) => resolve(dirname(flags.batch), path);
    const tokenizer = await loadClipTokenizer();
    const student = requireCosmos(await loadModel(ctx, { ...flags, weights: 'student' }), 'the COSMOS loss');
    try {
      const s = student.config.vision.imageSize;
      const view = async (key: 'global_images' | 'local_images', v: number) => {
        const paths = samples.map((sample) => at(sample[key][v]!));
        const images = await viewImages(
          paths,
          samples.map((_, i) => `samples[${i}].${key}[${v}]`),
          student,
          key === 'global_images',
        );
        return { pixels: images.map(normalizeForClip), size: key === 'global_images' ? s : images[0]!.width };
      };
      // Views and captions are checked before the teacher is loaded, one view after the other so that the
      // first bad file is the one reported.
      const globals = [await view('global_images', 0), await view('global_images', 1)];
      const locals: Awaited<ReturnType<typeof view>>[] = [];
      for (let v = 0; v < samples[0]!.local_images.length; v++) locals.push(await view('local_images', v));
      const odd = locals.findIndex((l) => l.size !== locals[0]!.size);
      if (odd > 0) {
        throw new Error(
          `${flags.batch}: local_images[0] are ${locals[0]!.size} px, local_images[${odd}] ${locals[odd]!.size} px: local images must all be one size`,
        );
      }
      const captions = samples[0]!.captions.map((_, v) =>
        tokenizer.rowsFor(
          samples.map((sample) => sample.captions[v]!),
          student.config.text,
        ),
      );
      const teacher = requireCosmos(await loadModel(ctx, { ...flags, weights: 'teacher' }), 'the COSMOS loss');
      try {
        const losses = await scopeAsync(async () => {
          const terms = noGrad(() => {
            const tensors = (views: { pixels: Float32Array[]; size: number }[]) => views.map((x) => stackRows(x.pixels, [3, x.size, x.size]));
            const batch: ViewBatch = { globalImages: tensors(globals), localImages: tensors(locals), captions };
            return lossTerms(student, teacher, batch, 'cosmos');
          });
          const value = async (t: Tensor) => (await t.readFloat())[0]!;
          return { clip: await value(terms.clip), cosmos: await value(terms.cosmos!), total: await value(terms.total) };
        });
        ctx.result(losses, () => `L_clip ${losses.clip}\nL_cosmos ${losses.cosmos}\ntotal ${losses.total}`);
      } finally {
        teacher.dispose();
      }
    } finally {
      student.dispose();
    }
  },
});
