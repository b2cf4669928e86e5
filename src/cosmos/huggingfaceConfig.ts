/**
 * transformers' CLIPConfig (config.json of a CLIPModel folder) as our architecture, and back. A key left out means
 * transformers' default (CLIPTextConfig, CLIPVisionConfig: QuickGELU, LayerNorm eps 1e-5, ViT-B/32's shapes); the
 * legacy text_config_dict and vision_config_dict override, as transformers reads them. Other architectures (SigLIP,
 * Chinese-CLIP, a vision tower alone, ...) are refused by what they are.
 */
import type { Activation } from '../nn/config.ts';
import { type CosmosConfig, DEFAULT_POOLER_HEADS } from './config.ts';

/** The keys that shape the towers, with transformers' defaults. */
const TEXT_DEFAULTS = {
  vocab_size: 49408,
  hidden_size: 512,
  intermediate_size: 2048,
  num_hidden_layers: 12,
  num_attention_heads: 8,
  max_position_embeddings: 77,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
  eos_token_id: 49407,
};
const VISION_DEFAULTS = {
  hidden_size: 768,
  intermediate_size: 3072,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  num_channels: 3,
  image_size: 224,
  patch_size: 32,
  hidden_act: 'quick_gelu',
  layer_norm_eps: 1e-5,
};
const PROJECTION_DIM = 512;
/** CLIPConfig's logit_scale_init_value, ln(1 / 0.07) to 4 decimals: what transformers writes. */
const LOGIT_SCALE_INIT = 2.6592;
/** transformers' names of the activations this engine computes: "gelu" is its exact GELU. */
const ACTIVATIONS: Record<string, Activation> = { gelu: 'gelu', quick_gelu: 'quick_gelu' };
/** transformers pools text at argmax(ids) when eos_token_id is 2 (configs older than its PR #24773). */
const LEGACY_EOS = 2;

type Section = Record<string, unknown>;

/** `key` (text_config, vision_config), its legacy `<key>_dict` over it. */
function sectionOf(json: Section, key: string): Section {
  const parts = [key, `${key}_dict`].filter((k) => json[k] !== undefined && json[k] !== null);
  const bad = parts.find((k) => typeof json[k] !== 'object' || Array.isArray(json[k]));
  if (bad) throw new Error(`config.json: ${bad} is not an object`);
  return Object.assign({}, ...parts.map((k) => json[k] as Section));
}

function integer(where: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1)
    throw new Error(`config.json: ${where} must be a positive integer, not ${JSON.stringify(value)}`);
  return value;
}

function activation(where: string, value: unknown): Activation {
  const found = typeof value === 'string' ? ACTIVATIONS[value] : undefined;
  if (!found) throw new Error(`config.json: ${where} is ${JSON.stringify(value)}; this engine computes ${Object.keys(ACTIVATIONS).join(' and ')}`);
  return found;
}

function epsilon(where: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) throw new Error(`config.json: ${where} must be a positive number, not ${JSON.stringify(value)}`);
  return value;
}

function headsOf(where: string, width: number, heads: number): number {
  if (width % heads !== 0) throw new Error(`config.json: ${where} is ${heads}, which does not divide hidden_size ${width}`);
  return heads;
}

/** Refuses a config of another model, naming what it is. */
function checkIsClipModel(json: Section): void {
  const type = json.model_type;
  const architectures = Array.isArray(json.architectures) ? json.architectures.map(String) : [];
  if (type === 'clip' && (architectures.length === 0 || architectures.includes('CLIPModel'))) return;
  const what = `a Hugging Face ${typeof type === 'string' ? type : 'unknown'} model${architectures.length ? ` (${architectures.join(', ')})` : ''}`;
  throw new Error(`config.json describes ${what}, not a CLIPModel (model_type "clip", architectures ["CLIPModel"])`);
}

export function fromHuggingFaceConfig(json: unknown): CosmosConfig {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error('config.json is not a JSON object');
  const root = json as Section;
  checkIsClipModel(root);
  const t = { ...TEXT_DEFAULTS, ...sectionOf(root, 'text_config') };
  const v = { ...VISION_DEFAULTS, ...sectionOf(root, 'vision_config') };
  const tWidth = integer('text_config.hidden_size', t.hidden_size);
  const vWidth = integer('vision_config.hidden_size', v.hidden_size);
  const imageSize = integer('vision_config.image_size (a square image)', v.image_size);
  const patchSize = integer('vision_config.patch_size (a square patch)', v.patch_size);
  if (imageSize % patchSize !== 0) throw new Error(`config.json: vision_config.image_size ${imageSize} is not a multiple of patch_size ${patchSize}`);
  if (v.num_channels !== 3) throw new Error(`config.json: vision_config.num_channels is ${JSON.stringify(v.num_channels)}; CLIP reads RGB images (3)`);
  const vocabSize = integer('text_config.vocab_size', t.vocab_size);
  if (t.eos_token_id !== LEGACY_EOS && t.eos_token_id !== vocabSize - 1) {
    throw new Error(
      `config.json: text_config.eos_token_id is ${JSON.stringify(t.eos_token_id)}; this engine pools the text at its largest token id, the end-of-text token only when it is vocab_size - 1 (${vocabSize - 1})`,
    );
  }
  return {
    embedDim: integer('projection_dim', root.projection_dim ?? PROJECTION_DIM),
    vision: {
      imageSize,
      patchSize,
      width: vWidth,
      layers: integer('vision_config.num_hidden_layers', v.num_hidden_layers),
      heads: headsOf('vision_config.num_attention_heads', vWidth, integer('vision_config.num_attention_heads', v.num_attention_heads)),
      mlpWidth: integer('vision_config.intermediate_size', v.intermediate_size),
      attnPoolerHeads: DEFAULT_POOLER_HEADS,
      activation: activation('vision_config.hidden_act', v.hidden_act),
      layerNormEps: epsilon('vision_config.layer_norm_eps', v.layer_norm_eps),
    },
    text: {
      contextLength: integer('text_config.max_position_embeddings', t.max_position_embeddings),
      vocabSize,
      width: tWidth,
      layers: integer('text_config.num_hidden_layers', t.num_hidden_layers),
      heads: headsOf('text_config.num_attention_heads', tWidth, integer('text_config.num_attention_heads', t.num_attention_heads)),
      mlpWidth: integer('text_config.intermediate_size', t.intermediate_size),
      attnPoolerHeads: DEFAULT_POOLER_HEADS,
      activation: activation('text_config.hidden_act', t.hidden_act),
      layerNormEps: epsilon('text_config.layer_norm_eps', t.layer_norm_eps),
    },
  };
}

/**
 * A CLIPModel config.json for the CLIP part of a model, every key that shapes it named (the text tower's special
 * token ids are the CLIP tokenizer's: start vocab_size - 2, end vocab_size - 1, padding 1, transformers' defaults).
 */
export function toHuggingFaceConfig(config: CosmosConfig): Record<string, unknown> {
  const { vision: v, text: t } = config;
  return {
    architectures: ['CLIPModel'],
    model_type: 'clip',
    projection_dim: config.embedDim,
    logit_scale_init_value: LOGIT_SCALE_INIT,
    text_config: {
      model_type: 'clip_text_model',
      vocab_size: t.vocabSize,
      hidden_size: t.width,
      intermediate_size: t.mlpWidth,
      num_hidden_layers: t.layers,
      num_attention_heads: t.heads,
      max_position_embeddings: t.contextLength,
      hidden_act: t.activation,
      layer_norm_eps: t.layerNormEps,
      projection_dim: config.embedDim,
      bos_token_id: t.vocabSize - 2,
      eos_token_id: t.vocabSize - 1,
      pad_token_id: 1,
    },
    vision_config: {
      model_type: 'clip_vision_model',
      hidden_size: v.width,
      intermediate_size: v.mlpWidth,
      num_hidden_layers: v.layers,
      num_attention_heads: v.heads,
      num_channels: 3,
      image_size: v.imageSize,
      patch_size: v.patchSize,
      hidden_act: v.activation,
      layer_norm_eps: v.layerNormEps,
      projection_dim: config.embedDim,
    },
  };
}
