/**
 * `cosmos inspect`: what a checkpoint holds, from its index alone (no tensor is read): what it is (COSMOS, OpenCLIP,
 * OpenAI or Hugging Face), top-level keys, epoch, name, tensor and parameter counts and element types of the chosen
 * weights, and the architecture (from the config beside the weights, else inferred from the shapes), written as an
 * OpenCLIP model config (usable as --config).
 */
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { type OpenClipModelConfig, toOpenClipConfig } from '../cosmos/config.ts';
import { describeSource, kindOf, type ModelSource, resolveConfig } from '../cosmos/modelSource.ts';
import { defineCommand } from './command.ts';
import { MODEL_FLAGS, givenConfig, openModel } from './inputs.ts';

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'what a checkpoint is, its keys, epoch, tensor and parameter counts, dtypes and its architecture',
  flags: MODEL_FLAGS,
  async run(flags, ctx) {
    const given = await givenConfig(flags);
    const opened = await openModel(flags.checkpoint, flags.weights as WeightsChoice | undefined);
    await opened.close();
    const { meta } = opened;
    let source: ModelSource | null = null;
    let config: OpenClipModelConfig | null = null;
    let configError: string | null = null;
    try {
      const resolved = resolveConfig(opened, flags.checkpoint, given);
      source = describeSource(opened, flags.checkpoint, resolved);
      config = toOpenClipConfig(resolved.config, { poolers: source.kind === 'COSMOS' });
    } catch (error) {
      configError = (error as Error).message;
    }
    const json = {
      file: flags.checkpoint,
      kind: source?.kind ?? kindOf(opened),
      format: meta.format,
      ...(meta.scriptClass ? { script_class: meta.scriptClass } : {}),
      weights_files: opened.weightsFiles,
      config_file: opened.configFile?.name ?? null,
      architecture: source?.architecture ?? null,
      top_level_keys: meta.topLevelKeys,
      epoch: meta.epoch,
      name: meta.name,
      weights: meta.weights,
      tensor_count: meta.tensorCount,
      parameter_count: meta.parameterCount,
      dtypes: meta.dtypes,
      config,
      ...(configError ? { config_error: configError } : {}),
    };
    const keys = meta.topLevelKeys;
    const dtypes = Object.entries(meta.dtypes).map(([d, n]) => `${n} ${d}`);
    ctx.result(json, () =>
      [
        `${flags.checkpoint}: ${json.kind} (${meta.format}${meta.scriptClass ? `, ${meta.scriptClass}` : ''})${source ? `, ${source.architecture}` : ''}`,
        `top-level keys: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ` and ${keys.length - 8} more` : ''}`,
        `epoch: ${meta.epoch ?? '-'}, name: ${meta.name ?? '-'}`,
        `${meta.weights}: ${meta.tensorCount} tensors, ${meta.parameterCount.toLocaleString('en-US')} parameters (${dtypes.join(', ')})`,
        config ? `config (from ${source!.configFrom}): ${JSON.stringify(config)}` : `config: not known (${configError})`,
      ].join('\n'),
    );
  },
});
