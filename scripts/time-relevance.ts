/**
 * Times what the Attention panel's "Relevance (gradient × attention)" asks of the engine for one image and one
 * caption on a ViT-B/16 COSMOS model (random weights: the time and memory depend on the shapes only): both towers
 * explained from block 0, so that every start block's maps come from one pass. Prints the adapter, its buffer
 * limit, the seconds of a first run (pipelines compiled) and of a second, wall-clock and the process's CPU time (all
 * threads, SwiftShader's included: on a shared machine the wall time says more about the load than about the work),
 * and the GPU memory the engine held.
 *
 *   node --import tsx --import ./scripts/wgsl-hooks.mjs scripts/time-relevance.ts [PRESET]
 */
import { cosmosModel } from '../src/cosmos/model.ts';
import { PRESETS, type PresetName } from '../src/cosmos/presets.ts';
import { sceneData } from '../src/data/dataset.ts';
import { normalizeForClip } from '../src/data/preprocess.ts';
import { loadSceneAtlasFromDisk } from '../src/data/scenes-node.ts';
import { loadClipTokenizer } from '../src/data/tokenizer-node.ts';
import { explainPairs } from '../src/eval/relevance.ts';
import { createNodeRuntime } from '../src/gpu/node.ts';
import { gpu, installRuntime } from '../src/tensor/engine.ts';

const name = (process.argv[2] ?? 'ViT-B/16') as PresetName;
const config = PRESETS[name];
if (!config) throw new Error(`${process.argv[2]}: not a preset (${Object.keys(PRESETS).join(', ')})`);
installRuntime(await createNodeRuntime());
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
const { adapter } = gpu();
console.log(
  `${adapter.vendor} ${adapter.architecture}, buffers up to ${mib(Math.min(adapter.limits.maxBufferSize, adapter.limits.maxStorageBufferBindingSize))}`,
);

const model = cosmosModel(config, 1);
const tokenizer = await loadClipTokenizer();
const scene = sceneData(await loadSceneAtlasFromDisk(), 0).heldOutScenes!(1, config.vision.imageSize)[0]!;
const ids = tokenizer.rowsFor([scene.caption], config.text);
const pixels = normalizeForClip(scene.image);
for (const run of ['first (pipelines compiled)', 'second']) {
  const started = performance.now();
  const cpu = process.cpuUsage();
  const out = await explainPairs(model, [pixels], ids, { vision: 0, text: 0 });
  const seconds = (performance.now() - started) / 1000;
  const { user, system } = process.cpuUsage(cpu);
  const memory = gpu().memory();
  console.log(
    `${name}, "${scene.caption}": ${run} ${seconds.toFixed(1)} s (CPU ${((user + system) / 1e6).toFixed(1)} s), score ${out.logits[0]![0]!.toFixed(3)}; ` +
      `${out.image[0]![0]!.length} + ${out.text[0]![0]!.length} start blocks of maps; GPU buffers held ${mib(memory.totalBytes)}, live ${mib(memory.liveBytes)}`,
  );
}
model.dispose();
