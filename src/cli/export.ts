/**
 * `cosmos export`: one set of weights (student by default) as a bare state_dict, `.pt` (torch.load) or
 * `.safetensors`, streamed tensor by tensor from the source file: no model is built and the file is never held
 * in memory. Values are written as float32 (fp16 and bf16 storages are widened exactly); the DDP "module."
 * prefix is dropped. The output is written next to its final name and renamed when complete. Beside it goes the
 * model's OpenCLIP config, every key named, as `<name>.json` (what `open_clip.add_model_config` registers as
 * model `<name>`): from --config, else inferred from the shapes.
 */
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { fileSink } from '../checkpoint/nodeFiles.ts';
import { writeSafetensors } from '../checkpoint/safetensors.ts';
import { writeTorchCheckpoint } from '../checkpoint/torchWriter.ts';
import { formatBytes } from '../format.ts';
import { type OpenClipModelConfig, toOpenClipConfig } from '../cosmos/config.ts';
import { configFromShapes } from '../cosmos/presets.ts';
import { defineCommand } from './command.ts';
import { checkHeads, openCheckpoint, readModelConfig } from './inputs.ts';

const FORMATS: Record<string, 'pt' | 'safetensors'> = { '.pt': 'pt', '.pth': 'pt', '.bin': 'pt', '.safetensors': 'safetensors' };

export const exportCommand = defineCommand({
  name: 'export',
  summary: 'write the student or teacher weights as a bare state_dict (.pt or .safetensors)',
  flags: {
    checkpoint: { kind: 'string', required: true, value: 'F.pt' },
    weights: { kind: 'string', choices: ['student', 'teacher'] },
    config: { kind: 'string', value: 'C.json' },
    out: { kind: 'string', required: true, value: 'G.pt|G.safetensors' },
  },
  async run(flags, ctx) {
    const format = FORMATS[extname(flags.out).toLowerCase()];
    if (!format) throw new Error(`--out ${flags.out}: the name must end in .pt, .pth, .bin or .safetensors`);
    if (resolve(flags.out) === resolve(flags.checkpoint)) throw new Error(`--out ${flags.out} is the checkpoint being read`);
    const given = flags.config ? await readModelConfig(flags.config) : null;
    const checkpoint = await openCheckpoint(flags.checkpoint, (flags.weights as WeightsChoice | undefined) ?? 'student');
    let config: OpenClipModelConfig | null = null;
    try {
      const architecture = given ?? configFromShapes(new Map([...checkpoint.tensors].map(([name, t]) => [name, t.shape])));
      checkHeads(architecture);
      config = toOpenClipConfig(architecture);
    } catch (error) {
      ctx.progress(`${flags.checkpoint}: no model config written beside the weights (${(error as Error).message})`);
    }
    const configOut = join(dirname(flags.out), `${basename(flags.out, extname(flags.out))}.json`);
    const partial = `${flags.out}.partial`;
    try {
      const sink = await fileSink(partial);
      ctx.progress(`${flags.checkpoint}: writing ${checkpoint.meta.tensorCount} tensors to ${flags.out}`);
      if (format === 'pt') await writeTorchCheckpoint(checkpoint.tensors, sink, { archiveName: basename(flags.out, extname(flags.out)) });
      else await writeSafetensors(checkpoint.tensors, sink);
      await rename(partial, flags.out);
      if (config) await writeFile(configOut, `${JSON.stringify(config, null, 2)}\n`);
    } catch (error) {
      await rm(partial, { force: true });
      throw error;
    } finally {
      await checkpoint.close();
    }
    const bytes = (await stat(flags.out)).size;
    const { weights, tensorCount, parameterCount } = checkpoint.meta;
    ctx.result(
      { out: flags.out, format, weights, tensor_count: tensorCount, parameter_count: parameterCount, bytes, config_out: config ? configOut : null, config },
      () =>
        `wrote ${flags.out}: ${weights}, ${tensorCount} tensors, ${parameterCount.toLocaleString('en-US')} parameters, ${formatBytes(bytes)}` +
        (config ? `\nwrote ${configOut}: its OpenCLIP model config` : ''),
    );
  },
});
