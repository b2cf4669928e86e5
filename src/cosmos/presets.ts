/** Named architectures: the released ViT-B/16 and ViT-B/32 COSMOS models, and small ones that train on a CPU. */
import { type CosmosConfig, inferConfig } from './config.ts';

const TEXT_B = { contextLength: 77, vocabSize: 49408, width: 512, layers: 12, heads: 8, mlpWidth: 2048 };

export const PRESETS = {
  'ViT-B/16': {
    embedDim: 512,
    vision: { imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12, mlpWidth: 3072 },
    text: TEXT_B,
    poolerHeads: 8,
  },
  'ViT-B/32': {
    embedDim: 512,
    vision: { imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, mlpWidth: 3072 },
    text: TEXT_B,
    poolerHeads: 8,
  },
  /** Trains in minutes on a 2-core CPU adapter: 64 px images, 8x8 patches, two layers per tower. */
  tiny: {
    embedDim: 64,
    vision: { imageSize: 64, patchSize: 8, width: 64, layers: 2, heads: 2, mlpWidth: 128 },
    text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 2, heads: 2, mlpWidth: 128 },
    poolerHeads: 2,
  },
  small: {
    embedDim: 128,
    vision: { imageSize: 96, patchSize: 16, width: 128, layers: 4, heads: 2, mlpWidth: 512 },
    text: { contextLength: 77, vocabSize: 49408, width: 128, layers: 4, heads: 2, mlpWidth: 512 },
    poolerHeads: 2,
  },
} satisfies Record<string, CosmosConfig>;

export type PresetName = keyof typeof PRESETS;

/** The config without its head counts: what a state_dict's shapes determine. */
function shapesOnly(c: CosmosConfig): string {
  const { vision, text } = c;
  return JSON.stringify([c.embedDim, { ...vision, heads: 0 }, { ...text, heads: 0 }]);
}

/**
 * The architecture of a state_dict: a preset when the shapes are exactly that preset's (head counts are not in the
 * shapes; the tiny presets' heads are narrower than 64), else inferred with head width 64 as OpenCLIP does.
 */
export function configFromShapes(shapes: ReadonlyMap<string, readonly number[]>): CosmosConfig {
  const inferred = inferConfig(shapes);
  return Object.values(PRESETS).find((preset) => shapesOnly(preset) === shapesOnly(inferred)) ?? inferred;
}
