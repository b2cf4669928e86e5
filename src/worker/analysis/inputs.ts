/**
 * What every analysis starts from: the model asked for (student or teacher), the image (a held-out scene or the
 * user's picture) both as the model's input and as a picture to draw under the maps, and captions as token ids.
 */
import { HELD_OUT_COUNT } from '../../data/dataset.ts';
import type { ClipModel } from '../../cosmos/model.ts';
import type { TrainingData } from '../../data/dataset.ts';
import type { RgbImage } from '../../data/image.ts';
import { type SceneAtlas, type SceneKinds, heldOutScenes, renderScene } from '../../data/scenes.ts';
import type { ClipTokenizer } from '../../data/tokenizer.ts';
import { normalizeForClip, preprocessToSize } from '../../data/preprocess.ts';
import type { HeldOutPairResult, ImageInput, Weights } from '../protocol.ts';

/** Pictures under the maps are at least this many pixels wide, whatever the model's input size. */
export const DISPLAY_SIZE = 224;

export interface Models {
  student: ClipModel;
  teacher: ClipModel | null;
}

export function pickModel(models: Models, weights: Weights): ClipModel {
  if (weights === 'student') return models.student;
  if (!models.teacher) throw new Error('This model has no teacher (it was trained in CLIP mode or loaded without one): choose the student.');
  return models.teacher;
}

export interface PreparedImage {
  /** Square, DISPLAY_SIZE or the model's size if larger: what the maps are drawn over. */
  display: RgbImage;
  /** [3, S, S] CLIP-normalized at the model's image size. */
  pixels: Float32Array;
}

/** Where scene inputs come from: the atlas, and which scenes (every emoji, or the teaching set) the run uses. */
export interface SceneSource {
  atlas: SceneAtlas;
  kinds: SceneKinds;
}

/** The picture itself: a held-out scene rendered at `size`, or the user's image as sent. */
export function sourceImage({ atlas, kinds }: SceneSource, input: ImageInput, size: number): RgbImage {
  if (input.kind === 'image') return input.image;
  if (!Number.isInteger(input.index) || input.index < 0 || input.index >= HELD_OUT_COUNT) {
    throw new Error(`There is no held-out scene ${input.index}: pick one of 0 to ${HELD_OUT_COUNT - 1}.`);
  }
  return renderScene(atlas, heldOutScenes(atlas, input.index + 1, kinds)[input.index]!, size).image;
}

/**
 * Scenes are rendered at each size (they are drawn, not resampled); a user's image goes through the CLIP eval
 * transform (short side resized, centre crop), so picture and model input show the same square.
 */
export function prepareImage(scenes: SceneSource, input: ImageInput, imageSize: number): PreparedImage {
  const displaySize = Math.max(DISPLAY_SIZE, imageSize);
  const at = (size: number) => preprocessToSize(sourceImage(scenes, input, size), size);
  return { display: at(displaySize), pixels: normalizeForClip(at(imageSize)) };
}

/** Marks of the special positions in AttentionResult.tokens. */
export const PAD_TOKEN = '<pad>';

/**
 * Display strings of one token row: SOT and EOT by name, each BPE token as its text (a trailing space where the
 * word ends), and PAD_TOKEN for the zero padding after EOT.
 */
export function tokenStrings(tokenizer: ClipTokenizer, row: Int32Array): string[] {
  const eot = row.indexOf(tokenizer.eotId);
  return Array.from(row, (id, i) => (eot >= 0 && i > eot ? PAD_TOKEN : tokenizer.decode([id])));
}

/**
 * Held-out pair `index` (below HELD_OUT_COUNT) of `data`, its picture square at `size`: a panel explains it as
 * the user's own image.
 */
export function heldOutPair(data: TrainingData, index: number, size: number): HeldOutPairResult {
  const pairs = Number.isInteger(index) && index >= 0 && index < HELD_OUT_COUNT ? data.heldOut(index + 1, size) : [];
  const pair = pairs[index];
  if (!pair) throw new Error(`${data.name} has no held-out pair ${index}.`);
  return { kind: 'heldOutPair', image: pair.image, caption: pair.caption };
}
