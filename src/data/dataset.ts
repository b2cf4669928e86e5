/**
 * What training reads: image-caption pairs by index, and a held-out split for retrieval evaluation. The built-in
 * scenes and the user's own images both provide it.
 */
import type { TextCropSource } from './textCrops.ts';
import type { RgbImage } from './image.ts';
import { type SceneAtlas, type SceneKinds, type SceneObjectTruth, heldOutScenes, renderScene, sceneCaption, sceneTruth, trainScene } from './scenes.ts';

export interface ImageCaption {
  /** Square, `size` x `size`. */
  image: RgbImage;
  caption: string;
  /** A webdataset sample's caption list (its .json), which text crops are drawn from instead of the caption's sentences. */
  captionList?: readonly string[];
}

/** What the text crops of a pair are drawn from: its caption list where it has one, else its caption. */
export const textCropSource = (pair: ImageCaption): TextCropSource => pair.captionList ?? pair.caption;

/** A held-out scene with what it shows: where each object is, and the per-pixel mask (0 background, emoji + 1). */
export interface HeldOutScene extends ImageCaption {
  objects: SceneObjectTruth[];
  mask: Uint16Array;
}

export interface TrainingData {
  readonly name: string;
  /** Training example `index` (deterministic; a finite set wraps around), as a square image of `size`. */
  train(index: number, size: number): ImageCaption;
  /** The first `count` held-out examples (fewer if the set is smaller). */
  heldOut(count: number, size: number): ImageCaption[];
  /** The held-out examples with their ground truth, where the data knows it (the built-in scenes do). */
  heldOutScenes?(count: number, size: number): HeldOutScene[];
}

export const BUILT_IN_SCENES = 'built-in scenes';
export const TEACHING_SCENES = 'teaching scenes';

/** Held-out pairs the analysis panels offer and every held-out evaluation ranks (fewer where a data set has fewer). */
export const HELD_OUT_COUNT = 256;

/**
 * The built-in emoji scenes: endless training scenes, and held-out scenes of unseen object combinations; with
 * kinds 'teaching', the scenes of 24 emoji that a tiny model learns in minutes.
 */
export function sceneData(atlas: SceneAtlas, seed: number, kinds: SceneKinds = 'all'): TrainingData {
  const render = (scene: ReturnType<typeof trainScene>, size: number): ImageCaption => ({
    image: renderScene(atlas, scene, size).image,
    caption: sceneCaption(scene),
  });
  return {
    name: kinds === 'all' ? BUILT_IN_SCENES : TEACHING_SCENES,
    train: (index, size) => render(trainScene(atlas, seed, index, kinds), size),
    heldOut: (count, size) => heldOutScenes(atlas, count, kinds).map((scene) => render(scene, size)),
    heldOutScenes: (count, size) =>
      heldOutScenes(atlas, count, kinds).map((scene) => {
        const rendered = renderScene(atlas, scene, size);
        return { image: rendered.image, caption: sceneCaption(scene), objects: sceneTruth(scene, rendered), mask: rendered.mask };
      }),
  };
}
