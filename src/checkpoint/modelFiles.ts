/**
 * A model as people hold it: one weights file (a COSMOS or OpenCLIP .pt/.bin/.safetensors, an OpenAI TorchScript
 * archive), or a folder of files: OpenCLIP's hub layout (open_clip_config.json beside open_clip_model.safetensors or
 * open_clip_pytorch_model.bin) or transformers' (config.json beside model.safetensors or pytorch_model.bin, or their
 * shards and index). Gives the weights under OpenCLIP's names and the config file that goes with them, unread by
 * any model: the caller turns it into an architecture.
 */
import { blobSource, type ByteSource } from './byteSource.ts';
import { fromHuggingFaceNames, hasHuggingFaceClipNames } from './huggingfaceNames.ts';
import { type CheckpointMeta, loadCheckpoint, type LoadedCheckpoint, type WeightsChoice } from './loadCheckpoint.ts';
import type { TensorRef } from './tensorRef.ts';

/** The files a model comes in, by base name; only the ones needed are opened. */
export interface ModelFiles {
  /** The folder or file the user chose, as messages call it. */
  readonly name: string;
  readonly names: readonly string[];
  /** The weights file the user named, if one was. */
  readonly chosen: string | null;
  open(name: string): Promise<ByteSource>;
}

/** OpenCLIP's hub config ({"model_cfg", "preprocess_cfg"}) or transformers' config.json, as JSON. */
export interface ConfigFile {
  name: string;
  kind: 'openclip' | 'huggingface';
  json: unknown;
}

export interface OpenedModel extends LoadedCheckpoint {
  /** The names the file used: OpenCLIP's (which COSMOS and OpenAI's archives share) or transformers' CLIPModel's. */
  names: 'openclip' | 'huggingface';
  /** The weights files read, in order (several for a sharded model). */
  weightsFiles: string[];
  configFile: ConfigFile | null;
}

export const OPENCLIP_CONFIG = 'open_clip_config.json';
export const HUGGINGFACE_CONFIG = 'config.json';
/** Weights files by the names their layouts give them, the preferred first (OpenCLIP hub folders often hold both). */
const WEIGHTS_NAMES = [
  'open_clip_model.safetensors',
  'open_clip_pytorch_model.bin',
  'model.safetensors',
  'model.safetensors.index.json',
  'pytorch_model.bin',
  'pytorch_model.bin.index.json',
];
const WEIGHTS_EXTENSION = /\.(pt|pth|bin|safetensors)$/i;
const INDEX = /\.index\.json$/;

async function readJson(files: ModelFiles, name: string): Promise<unknown> {
  const source = await files.open(name);
  try {
    return JSON.parse(new TextDecoder().decode(await source.read(0, source.size)));
  } catch (error) {
    throw new Error(`${files.name}: ${name} is not valid JSON (${(error as Error).message})`, { cause: error });
  }
}

function weightsFileOf(files: ModelFiles): string {
  if (files.chosen) return files.chosen;
  const named = WEIGHTS_NAMES.find((n) => files.names.includes(n));
  if (named) return named;
  const candidates = files.names.filter((n) => WEIGHTS_EXTENSION.test(n));
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0) {
    throw new Error(
      `${files.name} holds no weights file: expected a .pt, .bin or .safetensors file, or a folder with ${WEIGHTS_NAMES.slice(0, 3).join(', ')} ...`,
    );
  }
  throw new Error(`${files.name} holds several weights files (${candidates.slice(0, 6).join(', ')}): choose one of them`);
}

/** The shards an index names ({"weight_map": {tensor: file}}), in order of first use. */
async function shardsOf(files: ModelFiles, index: string): Promise<string[]> {
  const json = (await readJson(files, index)) as { weight_map?: unknown };
  const map = json?.weight_map;
  if (typeof map !== 'object' || map === null || Object.values(map).some((f) => typeof f !== 'string')) {
    throw new Error(`${files.name}: ${index} has no weight_map of tensor names to files`);
  }
  const shards = [...new Set(Object.values(map as Record<string, string>))];
  const absent = shards.find((f) => !files.names.includes(f));
  if (absent) throw new Error(`${files.name}: ${index} names the shard ${absent}, which is not there`);
  return shards;
}

/** Several shards as one checkpoint: their tensors together, their counts summed. */
function joinShards(parts: LoadedCheckpoint[], where: string): LoadedCheckpoint {
  const tensors = new Map<string, TensorRef>();
  const dtypes: CheckpointMeta['dtypes'] = {};
  for (const part of parts) {
    for (const [name, t] of part.tensors) {
      if (tensors.has(name)) throw new Error(`${where}: ${name} is in two shards`);
      tensors.set(name, t);
    }
    for (const [dtype, n] of Object.entries(part.meta.dtypes)) dtypes[dtype as keyof typeof dtypes] = (dtypes[dtype as keyof typeof dtypes] ?? 0) + n;
  }
  const first = parts[0]!.meta;
  const parameterCount = parts.reduce((s, p) => s + p.meta.parameterCount, 0);
  return { tensors, meta: { ...first, topLevelKeys: [...tensors.keys()], tensorCount: tensors.size, parameterCount, dtypes } };
}

export async function openModelFiles(files: ModelFiles, options: { weights?: WeightsChoice } = {}): Promise<OpenedModel> {
  const weightsFile = weightsFileOf(files);
  const weightsFiles = INDEX.test(weightsFile) ? await shardsOf(files, weightsFile) : [weightsFile];
  const parts: LoadedCheckpoint[] = [];
  for (const name of weightsFiles) parts.push(await loadCheckpoint(await files.open(name), options));
  const loaded = parts.length === 1 ? parts[0]! : joinShards(parts, files.name);
  const huggingface = hasHuggingFaceClipNames(loaded.tensors.keys());
  const configName = huggingface ? HUGGINGFACE_CONFIG : OPENCLIP_CONFIG;
  if (huggingface && !files.names.includes(configName)) {
    throw new Error(
      `${weightsFile} holds Hugging Face CLIPModel weights, which need their ${HUGGINGFACE_CONFIG}: choose the folder, or the two files together`,
    );
  }
  const configFile: ConfigFile | null = files.names.includes(configName)
    ? { name: configName, kind: huggingface ? 'huggingface' : 'openclip', json: await readJson(files, configName) }
    : null;
  const tensors = huggingface ? fromHuggingFaceNames(loaded.tensors) : loaded.tensors;
  return { tensors, meta: loaded.meta, names: huggingface ? 'huggingface' : 'openclip', weightsFiles, configFile };
}

/** Files the page was given (several chosen together, or a folder's own files, not its subfolders'): by base name. */
export function chosenFiles(given: readonly File[]): ModelFiles {
  const chosen = given.filter((f) => (f.webkitRelativePath || f.name).split('/').length <= 2);
  const byName = new Map(chosen.map((f) => [f.name, f]));
  const folder = chosen[0]?.webkitRelativePath?.split('/')[0];
  const single = chosen.length === 1 ? chosen[0]!.name : null;
  return {
    name: single ?? (folder || chosen.map((f) => f.name).join(' + ')),
    names: [...byName.keys()],
    chosen: single,
    async open(name) {
      const file = byName.get(name);
      if (!file) throw new Error(`${name} is not among the files chosen`);
      return blobSource(file, name);
    },
  };
}
