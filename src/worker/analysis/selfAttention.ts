/**
 * The vision tower's own attention: for each layer and head, how the CLS token attends over the patches, and
 * the attention rollout through all layers (src/eval/rollout.ts). One forward pass collects every layer's weights.
 */
import type { ClipModel } from '../../cosmos/model.ts';
import { noGradAsync } from '../../tensor/engine.ts';
import { scopeAsync } from '../../tensor/scope.ts';
import { type Tensor, fromArray } from '../../tensor/tensor.ts';
import type { ImageInput, SelfAttentionResult } from '../protocol.ts';
import { prepareImage, type SceneSource } from './inputs.ts';
import { type LayerAttention, attentionRollout } from '../../eval/rollout.ts';

/** Row 0 (CLS) of each head's [T, T] map, without its first column (CLS itself): [head][patch]. */
function clsRows({ heads, tokens, weights }: LayerAttention): Float32Array[] {
  return Array.from({ length: heads }, (_, h) => weights.slice(h * tokens * tokens + 1, h * tokens * tokens + tokens));
}

export async function selfAttention(model: ClipModel, scenes: SceneSource, input: ImageInput): Promise<SelfAttentionResult> {
  const { imageSize: s, heads } = model.config.vision;
  const image = prepareImage(scenes, input, s);
  const { layers, grid } = await scopeAsync(() =>
    noGradAsync(async () => {
      const maps: Tensor[] = [];
      const features = model.encodeImage(fromArray(image.pixels, [1, 3, s, s]), maps);
      const tokens = features.grid[0] * features.grid[1] + 1;
      const layers: LayerAttention[] = [];
      for (const map of maps) layers.push({ heads, tokens, weights: await map.readFloat() });
      return { layers, grid: features.grid };
    }),
  );
  return { kind: 'selfAttention', image: image.display, grid, clsToPatches: layers.map(clsRows), rollout: attentionRollout(layers) };
}
