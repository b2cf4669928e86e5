/**
 * `cosmos export`: one set of weights (student by default) of any model it reads, streamed tensor by tensor from
 * the source file (no model is built, the file is never held in memory), as
 *   pt, safetensors   a bare state_dict under OpenCLIP's names, and beside it `<name>.json`, the model's OpenCLIP
 *                     config with every key named (what `open_clip.add_model_config` registers as model `<name>`);
 *   openclip          OpenCLIP's hub folder: open_clip_config.json + open_clip_model.safetensors, what its `hf-hub:`
 *                     and `local-dir:` loaders read (a COSMOS model's parts included);
 *   huggingface       a transformers CLIPModel folder: config.json + model.safetensors, the CLIP part of the model.
 * Values are written as float32 (fp16 and bf16 storages are widened exactly); the DDP "module." prefix is dropped.
 * Each file is written next to its final name and renamed when complete.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { toHuggingFaceNames } from '../checkpoint/huggingfaceNames.ts';
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { HUGGINGFACE_CONFIG, OPENCLIP_CONFIG } from '../checkpoint/modelFiles.ts';
import { fileSink } from '../checkpoint/nodeFiles.ts';
import { writeSafetensors } from '../checkpoint/safetensors.ts';
import type { TensorSource } from '../checkpoint/tensorRef.ts';
import { writeTorchCheckpoint } from '../checkpoint/torchWriter.ts';
import { type CosmosConfig, toOpenClipConfig, toOpenClipHubConfig } from '../cosmos/config.ts';
import { toHuggingFaceConfig } from '../cosmos/huggingfaceConfig.ts';
import { isCosmosPart } from '../cosmos/model.ts';
import { resolveConfig } from '../cosmos/modelSource.ts';
import { formatBytes } from '../format.ts';
import type { WritableDType } from '../checkpoint/dtypes.ts';
import { UsageError } from './args.ts';
import { defineCommand } from './command.ts';
import { givenConfig, openModel } from './inputs.ts';

const FILE_FORMATS: Record<string, 'pt' | 'safetensors'> = { '.pt': 'pt', '.pth': 'pt', '.bin': 'pt', '.safetensors': 'safetensors' };
const FORMATS = ['pt', 'safetensors', 'openclip', 'huggingface'] as const;
type Format = (typeof FORMATS)[number];

/** Where each format puts the weights and the config. */
function layout(format: Format, out: string): { weights: string; config: string } {
  if (format === 'openclip') return { weights: join(out, 'open_clip_model.safetensors'), config: join(out, OPENCLIP_CONFIG) };
  if (format === 'huggingface') return { weights: join(out, 'model.safetensors'), config: join(out, HUGGINGFACE_CONFIG) };
  return { weights: out, config: join(dirname(out), `${basename(out, extname(out))}.json`) };
}

/** The config file's text: OpenCLIP's model config, its hub config, or transformers' CLIPConfig. */
function configText(format: Format, config: CosmosConfig, poolers: boolean): string {
  const json =
    format === 'openclip'
      ? toOpenClipHubConfig(config, { poolers })
      : format === 'huggingface'
        ? toHuggingFaceConfig(config)
        : toOpenClipConfig(config, { poolers });
  return `${JSON.stringify(json, null, 2)}\n`;
}

/** Writes `path` through `path.partial`, renamed when complete. */
async function writeAtomically(path: string, write: (partial: string) => Promise<void>): Promise<void> {
  const partial = `${path}.partial`;
  try {
    await write(partial);
    await rename(partial, path);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
}

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write the weights as a state_dict (.pt, .safetensors), an OpenCLIP hub folder or a Hugging Face CLIPModel folder',
  flags: {
    checkpoint: { kind: 'string', required: true, value: 'F.pt|DIR' },
    weights: { kind: 'string', choices: ['student', 'teacher'] },
    config: { kind: 'string', value: 'C.json' },
    format: { kind: 'string', choices: [...FORMATS] },
    out: { kind: 'string', required: true, value: 'G.pt|G.safetensors|DIR' },
    dtype: { kind: 'string', choices: ['float32', 'float16'] },
    'clip-only': { kind: 'switch' },
  },
  async run(flags, ctx) {
    const format = (flags.format as Format | undefined) ?? FILE_FORMATS[extname(flags.out).toLowerCase()];
    if (!format) throw new UsageError(`--out ${flags.out}: name a .pt, .pth, .bin or .safetensors file, or give --format openclip|huggingface and a folder`);
    const folder = format === 'openclip' || format === 'huggingface';
    if (!folder && FILE_FORMATS[extname(flags.out).toLowerCase()] !== format)
      throw new UsageError(`--out ${flags.out}: a ${format} file's name ends in .${format}`);
    if (resolve(flags.out) === resolve(flags.checkpoint)) throw new Error(`--out ${flags.out} is the checkpoint being read`);
    const dtype = (flags.dtype as WritableDType | undefined) ?? 'float32';
    if (dtype !== 'float32' && format === 'pt')
      throw new UsageError(`--dtype ${dtype}: a .pt state_dict is written in float32; float16 goes to .safetensors and folders`);
    const given = await givenConfig(flags);
    const opened = await openModel(flags.checkpoint, (flags.weights as WeightsChoice | undefined) ?? 'student');
    const { weights: weightsPath, config: configPath } = layout(format, flags.out);
    let configJson: string | null = null;
    let tensors: ReadonlyMap<string, TensorSource> = opened.tensors;
    let dropped = 0;
    // A Hugging Face CLIPModel has no place for COSMOS's parts; --clip-only leaves them out of any format (a model
    // trained in CLIP mode never trained them).
    const clipOnly = format === 'huggingface' || flags['clip-only'] === true;
    try {
      try {
        configJson = configText(format, resolveConfig(opened, flags.checkpoint, given).config, !clipOnly && [...opened.tensors.keys()].some(isCosmosPart));
      } catch (error) {
        // A bare state_dict is still worth writing; a folder format is nothing without its config.
        if (folder) throw error;
        ctx.progress(`${flags.checkpoint}: no model config written beside the weights (${(error as Error).message})`);
      }
      if (clipOnly) {
        const clipPart = new Map([...opened.tensors].filter(([name]) => !isCosmosPart(name)));
        dropped = opened.tensors.size - clipPart.size;
        tensors = format === 'huggingface' ? toHuggingFaceNames(clipPart) : clipPart;
      }
      if (folder) await mkdir(flags.out, { recursive: true });
      ctx.progress(`${flags.checkpoint}: writing ${tensors.size} tensors to ${weightsPath}`);
      await writeAtomically(weightsPath, async (partial) => {
        const sink = await fileSink(partial);
        if (format === 'pt') await writeTorchCheckpoint(tensors, sink, { archiveName: basename(weightsPath, extname(weightsPath)) });
        // The metadata transformers' save_pretrained writes (older readers require it).
        else await writeSafetensors(tensors, sink, { metadata: folder ? { format: 'pt' } : undefined, dtype });
      });
      const text = configJson;
      if (text) await writeAtomically(configPath, (partial) => writeFile(partial, text));
    } finally {
      await opened.close();
    }
    const bytes = (await stat(weightsPath)).size;
    const { weights, parameterCount } = opened.meta;
    const written = {
      out: flags.out,
      format,
      weights,
      weights_file: weightsPath,
      dtype,
      config_file: configJson ? configPath : null,
      tensor_count: tensors.size,
      bytes,
    };
    ctx.result({ ...written, parameter_count: parameterCount, dropped_cosmos_tensors: dropped, config: configJson && JSON.parse(configJson) }, () =>
      [
        `wrote ${weightsPath}: ${weights}, ${tensors.size} tensors in ${dtype}, ${formatBytes(bytes)}`,
        configJson ? `wrote ${configPath}: the model's ${format === 'huggingface' ? 'CLIPConfig' : 'OpenCLIP config'}` : '',
        dropped ? `left out ${dropped} tensors of COSMOS's parts (the poolers and token mappings)` : '',
      ]
        .filter(Boolean)
        .join('\n'),
    );
  },
});
