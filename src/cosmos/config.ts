/**
 * Architecture of a COSMOS model. Read from an OpenCLIP model-config JSON (`model_configs/*.json` schema),
 * inferred from a state_dict's shapes (head width 64, as OpenCLIP), or taken from a preset.
 */
export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
}

export interface TextConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
}

export interface CosmosConfig {
  embedDim: number;
  vision: VisionConfig;
  text: TextConfig;
  /** Heads of both cross-attention poolers (8 for embed_dim 512). */
  poolerHeads: number;
}

const HEAD_WIDTH = 64;

/**
 * OpenCLIP's model-config JSON, the fields that shape the towers, plus an optional `cosmos_cfg` (our addition:
 * OpenCLIP ignores unknown keys) for the poolers' head count when it is not embed_dim / 64.
 */
export interface OpenClipModelConfig {
  embed_dim: number;
  cosmos_cfg?: { pooler_heads?: number };
  vision_cfg: { image_size: number; patch_size: number; width: number; layers: number; head_width?: number; mlp_ratio?: number };
  text_cfg: { context_length?: number; vocab_size?: number; width: number; layers: number; heads?: number; mlp_ratio?: number };
}

export function fromOpenClipConfig(json: OpenClipModelConfig): CosmosConfig {
  const v = json.vision_cfg;
  const t = json.text_cfg;
  if (!json.embed_dim || !v?.width || !t?.width) throw new Error('Model config: embed_dim, vision_cfg.width and text_cfg.width are required');
  return {
    embedDim: json.embed_dim,
    vision: {
      imageSize: v.image_size,
      patchSize: v.patch_size,
      width: v.width,
      layers: v.layers,
      heads: v.width / (v.head_width ?? HEAD_WIDTH),
      mlpWidth: Math.round(v.width * (v.mlp_ratio ?? 4)),
    },
    text: {
      contextLength: t.context_length ?? 77,
      vocabSize: t.vocab_size ?? 49408,
      width: t.width,
      layers: t.layers,
      heads: t.heads ?? t.width / HEAD_WIDTH,
      mlpWidth: Math.round(t.width * (t.mlp_ratio ?? 4)),
    },
    poolerHeads: json.cosmos_cfg?.pooler_heads ?? Math.max(1, json.embed_dim / HEAD_WIDTH),
  };
}

/** Infers the architecture from parameter shapes (names without the `module.` prefix). */
export function inferConfig(shapes: ReadonlyMap<string, readonly number[]>): CosmosConfig {
  const shape = (key: string): readonly number[] => {
    const s = shapes.get(key);
    if (!s) throw new Error(`Cannot infer the architecture: the checkpoint has no ${key}`);
    return s;
  };
  const countLayers = (prefix: string): number => {
    let n = 0;
    while (shapes.has(`${prefix}${n}.ln_1.weight`)) n++;
    return n;
  };
  const [vWidth, , patchSize] = shape('visual.conv1.weight') as number[];
  const gridTokens = shape('visual.positional_embedding')[0]! - 1;
  const [embedDimFromProj] = shape('visual.proj').slice(1);
  const [contextLength, tWidth] = shape('positional_embedding') as number[];
  const vMlp = shape('visual.transformer.resblocks.0.mlp.c_fc.weight')[0]!;
  const tMlp = shape('transformer.resblocks.0.mlp.c_fc.weight')[0]!;
  const embedDim = embedDimFromProj!;
  return {
    embedDim,
    vision: {
      imageSize: Math.round(Math.sqrt(gridTokens)) * patchSize!,
      patchSize: patchSize!,
      width: vWidth!,
      layers: countLayers('visual.transformer.resblocks.'),
      heads: vWidth! / HEAD_WIDTH,
      mlpWidth: vMlp,
    },
    text: {
      contextLength: contextLength!,
      vocabSize: shape('token_embedding.weight')[0]!,
      width: tWidth!,
      layers: countLayers('transformer.resblocks.'),
      heads: tWidth! / HEAD_WIDTH,
      mlpWidth: tMlp,
    },
    poolerHeads: Math.max(1, embedDim / HEAD_WIDTH),
  };
}
