/**
 * What a model was loaded from, in words for the page and the CLI (COSMOS, OpenCLIP, OpenAI or Hugging Face; the
 * architecture; the stored element types), and the architecture of an opened model: the config given (--config),
 * else the config file that came with the weights, else the weights' shapes.
 */
import type { OpenedModel } from '../checkpoint/modelFiles.ts';
import { type CosmosConfig, fromOpenClipConfig, fromOpenClipHubConfig, type OpenClipModelConfig } from './config.ts';
import { fromHuggingFaceConfig } from './huggingfaceConfig.ts';
import { isCosmosPart } from './model.ts';
import { architectureName, configFromShapes } from './presets.ts';

export type ModelKind = 'COSMOS' | 'OpenCLIP' | 'OpenAI' | 'Hugging Face';

export interface ModelSource {
  /** The file or folder chosen. */
  name: string;
  kind: ModelKind;
  /** "ViT-B/32", with QuickGELU where the model uses it. */
  architecture: string;
  /** The element types stored, e.g. "float16". */
  dtype: string;
  /** Where the architecture came from: "config.json", "--config C.json", "the shapes". */
  configFrom: string;
}

export interface ResolvedConfig {
  config: CosmosConfig;
  from: string;
}

/** COSMOS when the weights hold COSMOS's parts; otherwise what wrote them. */
export function kindOf(opened: OpenedModel): ModelKind {
  if ([...opened.tensors.keys()].some(isCosmosPart)) return 'COSMOS';
  if (opened.names === 'huggingface') return 'Hugging Face';
  // OpenAI's archives are scripted from their own classes (__torch__.multimodal...); OpenCLIP can script its CLIP.
  if (opened.meta.format === 'torchscript') return opened.meta.scriptClass?.startsWith('__torch__.open_clip.') ? 'OpenCLIP' : 'OpenAI';
  return 'OpenCLIP';
}

/**
 * Refuses architectures the model cannot be built with, such as head counts inferred (at head width 64) from a
 * width that is not a multiple of 64: those need the model's config.
 */
export function checkHeads(config: CosmosConfig): void {
  const towers: [string, number, number][] = [
    ['vision', config.vision.width, config.vision.heads],
    ['text', config.text.width, config.text.heads],
    ['image pooler (visual.attn_cross_pool)', config.embedDim, config.vision.attnPoolerHeads],
    ['text pooler (text_attn_cross_pool)', config.embedDim, config.text.attnPoolerHeads],
  ];
  for (const [tower, width, heads] of towers) {
    if (!Number.isInteger(heads) || heads < 1 || width % heads !== 0) {
      throw new Error(`the ${tower} width ${width} does not split into ${heads} heads (inferred heads are 64 wide: give the model's config, --config C.json)`);
    }
  }
}

/** The config file's architecture: OpenCLIP's hub config (or a bare model config under its name) or transformers'. */
function fromConfigFile({ name, kind, json }: NonNullable<OpenedModel['configFile']>): CosmosConfig {
  try {
    if (kind === 'huggingface') return fromHuggingFaceConfig(json);
    const hub = typeof json === 'object' && json !== null && 'model_cfg' in json;
    return hub ? fromOpenClipHubConfig(json) : fromOpenClipConfig(json as OpenClipModelConfig);
  } catch (error) {
    const message = (error as Error).message;
    throw new Error(message.startsWith(name) ? message : `${name}: ${message.replace(/^Model config: /, '')}`, { cause: error });
  }
}

/**
 * The architecture: `given` (with what to call it), else the config file beside the weights, else the shapes, with
 * OpenCLIP's defaults for what shapes cannot tell; a TorchScript archive is OpenAI's, whose models all use QuickGELU.
 */
export function resolveConfig(opened: OpenedModel, source: string, given?: ResolvedConfig): ResolvedConfig {
  if (given) return given;
  if (opened.configFile) return { config: fromConfigFile(opened.configFile), from: opened.configFile.name };
  const scripted = opened.meta.format === 'torchscript';
  let config: CosmosConfig;
  try {
    config = configFromShapes(new Map([...opened.tensors].map(([name, t]) => [name, t.shape])));
  } catch (error) {
    const what = scripted ? `${source} is a TorchScript archive of ${opened.meta.scriptClass}: ` : `${source}: `;
    throw new Error(what + (error as Error).message, { cause: error });
  }
  checkHeads(config);
  if (!scripted) return { config, from: 'the shapes' };
  const quick = { activation: 'quick_gelu' } as const;
  return { config: { ...config, vision: { ...config.vision, ...quick }, text: { ...config.text, ...quick } }, from: "the shapes, with OpenAI's QuickGELU" };
}

export function describeSource(opened: OpenedModel, name: string, { config, from }: ResolvedConfig): ModelSource {
  const quick = config.vision.activation === 'quick_gelu' || config.text.activation === 'quick_gelu';
  return {
    name,
    kind: kindOf(opened),
    architecture: `${architectureName(config)}${quick ? ', QuickGELU' : ''}`,
    dtype: Object.keys(opened.meta.dtypes).join(', '),
    configFrom: from,
  };
}

/** Why a plain CLIP model (COSMOS's parts added only to fine-tune it, not yet trained) shows no cross-attention maps. */
export function noCrossAttentionReason(source: ModelSource): string {
  return (
    `${source.name} is a plain CLIP model (${source.kind}, ${source.architecture}): it has no cross-attention poolers, so there are no ` +
    'patch-wise or token-wise maps. Training it in COSMOS mode adds the poolers, and the maps appear after the first step.'
  );
}
