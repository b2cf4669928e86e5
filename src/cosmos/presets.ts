/** Named architectures: the released ViT-B/16 and ViT-B/32 COSMOS models, and small ones that train on a CPU. */
import { type CosmosConfig, DEFAULT_NUMERICS, inferConfig } from './config.ts';

const TEXT_B = { contextLength: 77, vocabSize: 49408, width: 512, layers: 12, heads: 8, mlpWidth: 2048, attnPoolerHeads: 8, ...DEFAULT_NUMERICS };

export const PRESETS = {
  'ViT-B/16': {
    embedDim: 512,
    vision: { imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12, mlpWidth: 3072, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
    text: TEXT_B,
  },
  'ViT-B/32': {
    embedDim: 512,
    vision: { imageSize: 224, patchSize: 32, width: 768, layers: 12, heads: 12, mlpWidth: 3072, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
    text: TEXT_B,
  },
  /** Trains in minutes on a 2-core CPU adapter: 64 px images, 8x8 patches, two layers per tower. */
  tiny: {
    embedDim: 64,
    vision: { imageSize: 64, patchSize: 8, width: 64, layers: 2, heads: 2, mlpWidth: 128, attnPoolerHeads: 2, ...DEFAULT_NUMERICS },
    text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 2, heads: 2, mlpWidth: 128, attnPoolerHeads: 2, ...DEFAULT_NUMERICS },
  },
  small: {
    embedDim: 128,
    vision: { imageSize: 96, patchSize: 16, width: 128, layers: 4, heads: 2, mlpWidth: 512, attnPoolerHeads: 2, ...DEFAULT_NUMERICS },
    text: { contextLength: 77, vocabSize: 49408, width: 128, layers: 4, heads: 2, mlpWidth: 512, attnPoolerHeads: 2, ...DEFAULT_NUMERICS },
  },
} satisfies Record<string, CosmosConfig>;

export type PresetName = keyof typeof PRESETS;

/** The config without its head counts: what a state_dict's shapes determine. */
function shapesOnly(c: CosmosConfig): string {
  const { vision, text } = c;
  const noHeads = { heads: 0, attnPoolerHeads: 0 };
  return JSON.stringify([c.embedDim, { ...vision, ...noHeads }, { ...text, ...noHeads }]);
}

/**
 * The architecture of a state_dict: a preset when the shapes are exactly that preset's (head counts are not in the
 * shapes; the small presets' heads are narrower than 64), else inferred: tower heads 64 wide, pooler heads 8.
 */
export function configFromShapes(shapes: ReadonlyMap<string, readonly number[]>): CosmosConfig {
  const inferred = inferConfig(shapes);
  return Object.values(PRESETS).find((preset) => shapesOnly(preset) === shapesOnly(inferred)) ?? inferred;
}

/** The towers' shapes and heads: what names an architecture (not the poolers' heads, nor the numerics). */
function towersOf({ embedDim, vision, text }: CosmosConfig): string {
  const shapes = ({ attnPoolerHeads: _, activation: __, layerNormEps: ___, ...rest }: CosmosConfig['vision'] | CosmosConfig['text']) => rest;
  return JSON.stringify([embedDim, shapes(vision), shapes(text)]);
}

/** ViT sizes by (width, layers), as OpenAI and OpenCLIP name their towers. */
const VIT_SIZES: Record<string, string> = { '384x12': 'S', '512x12': 'M', '768x12': 'B', '1024x24': 'L', '1280x32': 'H', '1408x40': 'g', '1664x48': 'G' };

/**
 * The architecture as OpenAI and OpenCLIP name it: "ViT-B/32", "ViT-L/14@336px"; a preset's name where it is one;
 * else the vision tower's numbers.
 */
export function architectureName(config: CosmosConfig): string {
  const preset = Object.entries(PRESETS).find(([, p]) => towersOf(p) === towersOf(config));
  if (preset && !preset[0].startsWith('ViT')) return `${preset[0]} preset`;
  const { width, layers, patchSize, imageSize } = config.vision;
  const size = VIT_SIZES[`${width}x${layers}`];
  if (!size) return `ViT (width ${width}, ${layers} layer${layers === 1 ? '' : 's'}, ${patchSize} px patches, ${imageSize} px images)`;
  return `ViT-${size}/${patchSize}${imageSize === 224 ? '' : `@${imageSize}px`}`;
}
