/**
 * Architecture of a COSMOS model: OpenCLIP's two towers (nn/config.ts) in a joint space of `embedDim`. Read from
 * an OpenCLIP model-config JSON, where a key left out means OpenCLIP's dataclass default (CLIPVisionCfg,
 * CLIPTextCfg: text heads 8, vision head_width 64, both attn_pooler_heads 8, ...), inferred from a state_dict's
 * shapes, or taken from a preset. Every config this project writes names every key it reads.
 */
import { CLIP_MEAN, CLIP_STD } from '../data/preprocess.ts';
import type { Activation, TextConfig, TowerNumerics, VisionConfig } from '../nn/config.ts';

export interface CosmosConfig {
  embedDim: number;
  vision: VisionConfig;
  text: TextConfig;
}

/** OpenCLIP's model-config JSON (`model_configs/*.json`), the fields that shape the towers and the poolers. */
export interface OpenClipModelConfig {
  embed_dim: number;
  /** QuickGELU in both towers (OpenAI's weights and the models trained from them); GELU when false or left out. */
  quick_gelu?: boolean;
  vision_cfg: {
    image_size?: number;
    patch_size?: number;
    width?: number;
    layers?: number;
    head_width?: number;
    mlp_ratio?: number;
    attn_pooler_heads?: number;
    norm_kwargs?: NormKwargs;
    [other: string]: unknown;
  };
  text_cfg: {
    context_length?: number;
    vocab_size?: number;
    width?: number;
    heads?: number;
    layers?: number;
    mlp_ratio?: number;
    attn_pooler_heads?: number;
    norm_kwargs?: NormKwargs;
    [other: string]: unknown;
  };
  /** Written by this project before it followed OpenCLIP's keys: both poolers' heads. Read, never written. */
  cosmos_cfg?: { pooler_heads?: number };
  [other: string]: unknown;
}

/** The keyword arguments of a tower's LayerNorms; only eps changes what our LayerNorm computes. */
export interface NormKwargs {
  eps?: number;
}

/** OpenCLIP's CLIPVisionCfg and CLIPTextCfg defaults for the keys we read. */
const VISION_DEFAULTS = { image_size: 224, patch_size: 16, width: 768, layers: 12, head_width: 64, mlp_ratio: 4, attn_pooler_heads: 8 };
const TEXT_DEFAULTS = { context_length: 77, vocab_size: 49408, width: 512, heads: 8, layers: 12, mlp_ratio: 4, attn_pooler_heads: 8 };
/** OpenAI's rule, which OpenCLIP follows when it builds a model from bare weights: heads are 64 wide. */
const HEAD_WIDTH = 64;
/** What a state_dict's shapes cannot tell: OpenCLIP's default for both poolers. */
export const DEFAULT_POOLER_HEADS = 8;
/** Nor its numerics: OpenCLIP's defaults, GELU (quick_gelu false) and nn.LayerNorm's eps. */
export const DEFAULT_NUMERICS: TowerNumerics = { activation: 'gelu', layerNormEps: 1e-5 };

/**
 * OpenCLIP options that change the computation and that this engine does not implement, with the value that means
 * "off" (OpenCLIP's default): a config that turns one on is refused by name rather than run differently.
 */
const UNSUPPORTED = {
  top: { init_logit_bias: null, custom_text: false },
  vision_cfg: {
    ls_init_value: null,
    patch_dropout: 0,
    add_zero_attn: false,
    no_ln_pre: false,
    pos_embed_type: 'learnable',
    final_ln_after_pool: false,
    pool_type: 'tok',
    act_kwargs: null,
    timm_model_name: null,
  },
  text_cfg: {
    ls_init_value: null,
    add_zero_attn: false,
    embed_cls: false,
    pad_id: 0,
    no_causal_mask: false,
    final_ln_after_pool: false,
    pool_type: 'argmax',
    proj_bias: false,
    act_kwargs: null,
    hf_model_name: null,
    hf_tokenizer_name: null,
  },
} as const;

function refuseUnsupported(section: keyof typeof UNSUPPORTED, values: Record<string, unknown>): void {
  for (const [key, off] of Object.entries(UNSUPPORTED[section])) {
    const value = values[key];
    if (value === undefined || value === off) continue;
    const where = section === 'top' ? key : `${section}.${key}`;
    throw new Error(`Model config: ${where} is ${JSON.stringify(value)}, which this engine does not implement (OpenCLIP's default is ${JSON.stringify(off)})`);
  }
}

function positiveInteger(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new Error(`Model config: ${where} must be a positive integer, not ${JSON.stringify(value)}`);
  }
  return value;
}

/** `parts` (a head count, or a head width) when it divides `width`. */
function headsOf(where: string, width: number, parts: number): number {
  if (width % parts !== 0) throw new Error(`Model config: ${where} is ${parts}, which does not divide the width ${width}`);
  return parts;
}

/** quick_gelu: a boolean, false when left out. */
function activationOf(value: unknown): Activation {
  if (value === undefined || value === false) return 'gelu';
  if (value === true) return 'quick_gelu';
  throw new Error(`Model config: quick_gelu must be true or false, not ${JSON.stringify(value)}`);
}

/** norm_kwargs: {} or {"eps": e} (OpenCLIP passes them to every LayerNorm of the tower). */
function layerNormEpsOf(where: string, value: unknown): number {
  if (value === undefined || value === null) return DEFAULT_NUMERICS.layerNormEps;
  if (typeof value !== 'object' || Array.isArray(value)) throw new Error(`Model config: ${where} must be an object, not ${JSON.stringify(value)}`);
  const { eps = DEFAULT_NUMERICS.layerNormEps, ...others } = value as Record<string, unknown>;
  const other = Object.keys(others)[0];
  if (other !== undefined) throw new Error(`Model config: ${where}.${other} is set, which this engine does not implement (only eps is)`);
  if (typeof eps !== 'number' || !(eps > 0)) throw new Error(`Model config: ${where}.eps must be a positive number, not ${JSON.stringify(eps)}`);
  return eps;
}

function ratio(where: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`Model config: ${where} must be a positive number, not ${JSON.stringify(value)}`);
  return value;
}

export function fromOpenClipConfig(json: OpenClipModelConfig): CosmosConfig {
  if (typeof json !== 'object' || json === null || typeof json.vision_cfg !== 'object' || typeof json.text_cfg !== 'object') {
    throw new Error('Model config: embed_dim, vision_cfg and text_cfg are required (an OpenCLIP model config)');
  }
  refuseUnsupported('top', json);
  refuseUnsupported('vision_cfg', json.vision_cfg);
  refuseUnsupported('text_cfg', json.text_cfg);
  if (Array.isArray(json.vision_cfg.layers)) throw new Error('Model config: vision_cfg.layers is a list, a ModifiedResNet: only ViT towers are implemented');
  const legacyPoolerHeads = json.cosmos_cfg?.pooler_heads;
  const v = { ...VISION_DEFAULTS, ...(legacyPoolerHeads ? { attn_pooler_heads: legacyPoolerHeads } : {}), ...json.vision_cfg };
  const t = { ...TEXT_DEFAULTS, ...(legacyPoolerHeads ? { attn_pooler_heads: legacyPoolerHeads } : {}), ...json.text_cfg };
  const embedDim = positiveInteger('embed_dim', json.embed_dim);
  const vWidth = positiveInteger('vision_cfg.width', v.width);
  const tWidth = positiveInteger('text_cfg.width', t.width);
  const imageSize = positiveInteger('vision_cfg.image_size (a square image)', v.image_size);
  const patchSize = positiveInteger('vision_cfg.patch_size (a square patch)', v.patch_size);
  if (imageSize % patchSize !== 0) throw new Error(`Model config: vision_cfg.image_size ${imageSize} is not a multiple of patch_size ${patchSize}`);
  const activation = activationOf(json.quick_gelu);
  return {
    embedDim,
    vision: {
      imageSize,
      patchSize,
      width: vWidth,
      layers: positiveInteger('vision_cfg.layers', v.layers),
      heads: vWidth / headsOf('vision_cfg.head_width', vWidth, positiveInteger('vision_cfg.head_width', v.head_width)),
      // OpenCLIP: mlp_width = int(width * mlp_ratio).
      mlpWidth: Math.trunc(vWidth * ratio('vision_cfg.mlp_ratio', v.mlp_ratio)),
      attnPoolerHeads: headsOf('vision_cfg.attn_pooler_heads (over embed_dim)', embedDim, positiveInteger('vision_cfg.attn_pooler_heads', v.attn_pooler_heads)),
      activation,
      layerNormEps: layerNormEpsOf('vision_cfg.norm_kwargs', v.norm_kwargs),
    },
    text: {
      contextLength: positiveInteger('text_cfg.context_length', t.context_length),
      vocabSize: positiveInteger('text_cfg.vocab_size', t.vocab_size),
      width: tWidth,
      layers: positiveInteger('text_cfg.layers', t.layers),
      heads: headsOf('text_cfg.heads', tWidth, positiveInteger('text_cfg.heads', t.heads)),
      mlpWidth: Math.trunc(tWidth * ratio('text_cfg.mlp_ratio', t.mlp_ratio)),
      attnPoolerHeads: headsOf('text_cfg.attn_pooler_heads (over embed_dim)', embedDim, positiveInteger('text_cfg.attn_pooler_heads', t.attn_pooler_heads)),
      activation,
      layerNormEps: layerNormEpsOf('text_cfg.norm_kwargs', t.norm_kwargs),
    },
  };
}

/** OpenCLIP's PreprocessCfg as this engine preprocesses (data/preprocess.ts). */
const PREPROCESS_CFG: Record<string, unknown> = { mean: [...CLIP_MEAN], std: [...CLIP_STD], interpolation: 'bicubic', resize_mode: 'shortest' };

/**
 * OpenCLIP's hub config (open_clip_config.json: {"model_cfg", "preprocess_cfg"}, what `hf-hub:` and `local-dir:`
 * models are read with). Its preprocessing must be what this engine applies to every image: OpenCLIP's defaults,
 * OpenAI's mean and std, bicubic resizing of the shortest side.
 */
export function fromOpenClipHubConfig(json: unknown): CosmosConfig {
  const { model_cfg: model, preprocess_cfg: preprocess = {} } = (json ?? {}) as { model_cfg?: unknown; preprocess_cfg?: Record<string, unknown> };
  if (typeof model !== 'object' || model === null) throw new Error('open_clip_config.json has no model_cfg (an OpenCLIP model config)');
  for (const [key, value] of Object.entries(PREPROCESS_CFG)) {
    const given = preprocess[key];
    if (given !== undefined && JSON.stringify(given) !== JSON.stringify(value)) {
      throw new Error(
        `open_clip_config.json: preprocess_cfg.${key} is ${JSON.stringify(given)}; this engine preprocesses images with ${JSON.stringify(value)}`,
      );
    }
  }
  return fromOpenClipConfig(model as OpenClipModelConfig);
}

/** open_clip_config.json for a model: its config and the preprocessing this engine applies. */
export function toOpenClipHubConfig(
  config: CosmosConfig,
  options: WriteOptions = {},
): { model_cfg: OpenClipModelConfig; preprocess_cfg: Record<string, unknown> } {
  return {
    model_cfg: toOpenClipConfig(config, options),
    preprocess_cfg: PREPROCESS_CFG,
  };
}

export interface WriteOptions {
  /**
   * Whether the model has COSMOS's poolers (the default): their heads are named. A plain CLIP model's config leaves
   * them out, as released OpenCLIP has no text_cfg.attn_pooler_heads and refuses the key.
   */
  poolers?: boolean;
}

/**
 * The config in OpenCLIP's schema, every key named (a reader with other defaults gets the same model). OpenCLIP has
 * one activation for both towers (quick_gelu): a model whose towers differ cannot be written.
 */
export function toOpenClipConfig(config: CosmosConfig, { poolers = true }: WriteOptions = {}): OpenClipModelConfig {
  const { vision: v, text: t } = config;
  if (v.activation !== t.activation) {
    throw new Error(`the vision tower uses ${v.activation} and the text tower ${t.activation}; an OpenCLIP config has one activation for both (quick_gelu)`);
  }
  return {
    embed_dim: config.embedDim,
    quick_gelu: v.activation === 'quick_gelu',
    vision_cfg: {
      image_size: v.imageSize,
      patch_size: v.patchSize,
      width: v.width,
      layers: v.layers,
      head_width: v.width / v.heads,
      mlp_ratio: v.mlpWidth / v.width,
      ...(poolers ? { attn_pooler_heads: v.attnPoolerHeads } : {}),
      norm_kwargs: { eps: v.layerNormEps },
    },
    text_cfg: {
      context_length: t.contextLength,
      vocab_size: t.vocabSize,
      width: t.width,
      heads: t.heads,
      layers: t.layers,
      mlp_ratio: t.mlpWidth / t.width,
      ...(poolers ? { attn_pooler_heads: t.attnPoolerHeads } : {}),
      norm_kwargs: { eps: t.layerNormEps },
    },
  };
}

/**
 * Infers the architecture from parameter shapes (names without the `module.` prefix): tower heads 64 wide as
 * OpenAI's and OpenCLIP's builders from bare weights assume, pooler heads and numerics OpenCLIP's defaults (GELU:
 * weights trained with QuickGELU, such as OpenAI's in a bare state_dict, need their config).
 */
export function inferConfig(shapes: ReadonlyMap<string, readonly number[]>): CosmosConfig {
  checkIsClipVit(shapes);
  const shape = (key: string): readonly number[] => {
    const s = shapes.get(key);
    if (!s) throw new Error(`the shapes fit no CLIP ViT: there is no ${key}`);
    return s;
  };
  const countLayers = (prefix: string): number => {
    let n = 0;
    while (shapes.has(`${prefix}${n}.ln_1.weight`)) n++;
    if (n === 0) throw new Error(`the shapes fit no CLIP ViT: there is no ${prefix}0 block`);
    return n;
  };
  const [vWidth, channels, patchSize, patchWidth] = shape('visual.conv1.weight');
  if (channels !== 3 || patchSize !== patchWidth) {
    throw new Error(`the shapes fit no CLIP ViT: visual.conv1.weight is [${shape('visual.conv1.weight').join(', ')}], not [width, 3, patch, patch]`);
  }
  const gridTokens = shape('visual.positional_embedding')[0]! - 1;
  const grid = Math.round(Math.sqrt(gridTokens));
  if (grid * grid !== gridTokens) {
    throw new Error(`the shapes fit no CLIP ViT: visual.positional_embedding has ${gridTokens + 1} rows, not a square grid of patches plus the class token`);
  }
  const embedDim = shape('visual.proj')[1]!;
  const [contextLength, tWidth] = shape('positional_embedding') as number[];
  const textEmbed = shape('text_projection')[1];
  if (textEmbed !== embedDim) throw new Error(`the shapes fit no CLIP: visual.proj maps into ${embedDim} dimensions, text_projection into ${textEmbed}`);
  return {
    embedDim,
    vision: {
      imageSize: grid * patchSize!,
      patchSize: patchSize!,
      width: vWidth!,
      layers: countLayers('visual.transformer.resblocks.'),
      heads: vWidth! / HEAD_WIDTH,
      mlpWidth: shape('visual.transformer.resblocks.0.mlp.c_fc.weight')[0]!,
      attnPoolerHeads: DEFAULT_POOLER_HEADS,
      ...DEFAULT_NUMERICS,
    },
    text: {
      contextLength: contextLength!,
      vocabSize: shape('token_embedding.weight')[0]!,
      width: tWidth!,
      layers: countLayers('transformer.resblocks.'),
      heads: tWidth! / HEAD_WIDTH,
      mlpWidth: shape('transformer.resblocks.0.mlp.c_fc.weight')[0]!,
      attnPoolerHeads: DEFAULT_POOLER_HEADS,
      ...DEFAULT_NUMERICS,
    },
  };
}

/** What every CLIP ViT state_dict has, under OpenCLIP's names. */
const CLIP_VIT_KEYS = [
  'visual.conv1.weight',
  'visual.positional_embedding',
  'visual.proj',
  'token_embedding.weight',
  'positional_embedding',
  'text_projection',
];

/** Refuses weights of something else in one sentence: what was found, what a CLIP ViT has. */
function checkIsClipVit(shapes: ReadonlyMap<string, readonly number[]>): void {
  const names = [...shapes.keys()];
  if (names.some((n) => n.startsWith('visual.attnpool.') || n.startsWith('visual.layer1.'))) {
    throw new Error("its image tower is a ResNet (OpenAI's and OpenCLIP's RN50 family, visual.layer1 ... visual.attnpool): only ViT towers are implemented");
  }
  const missing = CLIP_VIT_KEYS.filter((k) => !shapes.has(k));
  if (missing.length === 0) return;
  const found = names.length ? `${names.length} tensors named like ${names.slice(0, 4).join(', ')}` : 'no tensors';
  throw new Error(`it holds ${found}, not a CLIP ViT, which has ${missing.join(', ')} (OpenCLIP's names; OpenAI's and Hugging Face's are read too)`);
}
