/**
 * `cosmos inspect`: what a checkpoint holds, from its index alone (no tensor is read): top-level keys, epoch,
 * name, tensor and parameter counts and element types of the chosen weights, and the architecture inferred from
 * the shapes, written as an OpenCLIP model config (usable as --config).
 */
import type { WeightsChoice } from '../checkpoint/loadCheckpoint.ts';
import { type OpenClipModelConfig, toOpenClipConfig } from '../cosmos/config.ts';
import { configFromShapes } from '../cosmos/presets.ts';
import { defineCommand } from './command.ts';
import { checkHeads, openCheckpoint } from './inputs.ts';

export const inspectCommand = defineCommand({
  name: 'inspect',
  summary: 'keys, epoch, tensor and parameter counts, dtypes and the inferred architecture of a checkpoint',
  flags: {
    checkpoint: { kind: 'string', required: true, value: 'F.pt' },
    weights: { kind: 'string', choices: ['student', 'teacher'] },
  },
  async run(flags, ctx) {
    const checkpoint = await openCheckpoint(flags.checkpoint, flags.weights as WeightsChoice | undefined);
    await checkpoint.close();
    const { meta, tensors } = checkpoint;
    let config: OpenClipModelConfig | null = null;
    let configError: string | null = null;
    try {
      const inferred = configFromShapes(new Map([...tensors].map(([name, t]) => [name, t.shape])));
      checkHeads(inferred);
      config = toOpenClipConfig(inferred);
    } catch (error) {
      configError = (error as Error).message;
    }
    const json = {
      file: flags.checkpoint,
      format: meta.format,
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
        `${flags.checkpoint} (${meta.format})`,
        `top-level keys: ${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ` and ${keys.length - 8} more` : ''}`,
        `epoch: ${meta.epoch ?? '-'}, name: ${meta.name ?? '-'}`,
        `${meta.weights}: ${meta.tensorCount} tensors, ${meta.parameterCount.toLocaleString('en-US')} parameters (${dtypes.join(', ')})`,
        config ? `config: ${JSON.stringify(config)}` : `config: not inferred (${configError})`,
      ].join('\n'),
    );
  },
});
