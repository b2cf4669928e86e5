/**
 * Writes a small COSMOS checkpoint the app can load: a freshly initialised model of a preset (tiny by default)
 * with the full CLIP vocabulary (the app's tokenizer emits ids up to 49407), in the released layout
 * ({"epoch", "name", "student": "module."-prefixed state_dict, "teacher": state_dict}). The end-to-end tests make
 * one at test time rather than committing ~14 MB of random weights.
 *
 *   node --import tsx --import ./scripts/wgsl-hooks.mjs scripts/make-app-checkpoint.ts OUT.pt [--preset tiny|small]
 */
import { fileSink } from '../src/checkpoint/nodeFiles.ts';
import type { TensorSource } from '../src/checkpoint/tensorRef.ts';
import { type WritableValue, writeTorchCheckpoint } from '../src/checkpoint/torchWriter.ts';
import { type ClipModel, cosmosModel } from '../src/cosmos/model.ts';
import { PRESETS, type PresetName } from '../src/cosmos/presets.ts';
import { createNodeRuntime } from '../src/gpu/node.ts';
import { errorMessage } from '../src/format.ts';
import { installRuntime } from '../src/tensor/engine.ts';

function stateDict(model: ClipModel, prefix: string): Map<string, WritableValue> {
  return new Map(model.namedParameters().map(([name, t]): [string, TensorSource] => [prefix + name, { shape: t.shape, read: () => t.readFloat() }]));
}

async function main(): Promise<void> {
  const [out, flag, presetArg] = process.argv.slice(2);
  const preset = (flag === '--preset' ? presetArg : 'tiny') as PresetName;
  if (!out?.endsWith('.pt') || !(preset in PRESETS)) {
    throw new Error(`usage: make-app-checkpoint.ts OUT.pt [--preset ${Object.keys(PRESETS).join('|')}]`);
  }
  const runtime = await createNodeRuntime();
  installRuntime(runtime);
  const student = cosmosModel(PRESETS[preset], 1);
  const teacher = cosmosModel(PRESETS[preset], 2);
  const tree = { epoch: 0, name: `cosmos-web ${preset} (random weights)`, student: stateDict(student, 'module.'), teacher: stateDict(teacher, '') };
  await writeTorchCheckpoint(tree, await fileSink(out));
  runtime.destroy();
  console.log(`wrote ${out}: ${preset} preset, student and teacher`);
}

main().catch((error: unknown) => {
  console.error(errorMessage(error));
  process.exit(1);
});
