/**
 * Writes a checkpoint shaped exactly like a released COSMOS one (ViT-B/32 unless ViT-B-16 is asked for): {"epoch", "name", "student"
 * ("module."-prefixed state_dict), "teacher" (state_dict), "optimizer" (AdamW state_dict)}, about 2.4 GB of random
 * float32. Each tensor's values are drawn only when the writer asks for them (no GPU), so memory holds one tensor.
 * The end-to-end test makes it at test time to check that the app loads a file of that size without holding it.
 *
 *   node --import tsx --import ./scripts/wgsl-hooks.mjs scripts/make-released-shape-checkpoint.ts OUT.pt [ViT-B-32|ViT-B-16]
 */
import { readFileSync } from 'node:fs';
import { fileSink } from '../src/checkpoint/nodeFiles.ts';
import { product, type TensorSource } from '../src/checkpoint/tensorRef.ts';
import { type WritableValue, writeTorchCheckpoint } from '../src/checkpoint/torchWriter.ts';
import { rng } from '../src/data/random.ts';
import { errorMessage } from '../src/format.ts';

type Shapes = Record<string, number[]>;

/** Uniform values of `scale` around `offset`, drawn when read: weights nobody reads, only shapes and sizes matter here. */
function randomTensor(shape: number[], seed: number, scale: number, offset = 0): TensorSource {
  return {
    shape,
    read: async () => {
      const values = new Float32Array(product(shape));
      const random = rng(seed);
      for (let i = 0; i < values.length; i++) values[i] = offset + scale * (random() - 0.5);
      return values;
    },
  };
}

/** Values of a sensible size (uniform, std ~ 1/sqrt(fan-in)) so the forward pass of random weights stays finite. */
function weight(name: string, shape: number[], seed: number): TensorSource {
  if (name.endsWith('logit_scale')) return randomTensor(shape, seed, 0, Math.log(1 / 0.07));
  if (/ln[^.]*\.weight$/.test(name)) return randomTensor(shape, seed, 0.2, 1);
  const fanIn = shape.length >= 2 ? product(shape.slice(1)) : (shape[0] ?? 1);
  return randomTensor(shape, seed, shape.length >= 2 ? Math.sqrt(12 / fanIn) : 0.04);
}

function stateDict(shapes: Shapes, prefix: string, seed: number): Map<string, WritableValue> {
  return new Map(Object.entries(shapes).map(([name, shape], i): [string, WritableValue] => [prefix + name, weight(name, shape, seed + i)]));
}

/** torch.optim.AdamW's state_dict for the student's parameters, in registration order. */
function adamWState(shapes: Shapes, seed: number): Map<string, WritableValue> {
  const list = Object.values(shapes);
  const state = new Map<number, WritableValue>(
    list.map((shape, i): [number, WritableValue] => [
      i,
      new Map<string, WritableValue>([
        ['step', 1000],
        ['exp_avg', randomTensor(shape, seed + 2 * i, 2e-3)],
        ['exp_avg_sq', randomTensor(shape, seed + 2 * i + 1, 2e-6, 1e-6)],
      ]),
    ]),
  );
  const group = {
    lr: 5e-4,
    betas: [0.9, 0.98],
    eps: 1e-6,
    weight_decay: 0.2,
    amsgrad: false,
    maximize: false,
    foreach: null,
    capturable: false,
    params: list.map((_, i) => i),
  };
  return new Map<string, WritableValue>([
    ['state', state],
    ['param_groups', [group]],
  ]);
}

async function main(): Promise<void> {
  const [out, architecture = 'ViT-B-32'] = process.argv.slice(2);
  if (!out?.endsWith('.pt')) throw new Error('usage: make-released-shape-checkpoint.ts OUT.pt [ViT-B-32|ViT-B-16]');
  const released = JSON.parse(readFileSync(new URL('../fixtures/cosmos/released-shapes.json', import.meta.url), 'utf8')) as Record<string, { shapes: Shapes }>;
  const shapes = released[architecture]?.shapes;
  if (!shapes) throw new Error(`${architecture}: fixtures/cosmos/released-shapes.json has the shapes of ${Object.keys(released).join(' and ')}`);
  const tree = {
    epoch: 32,
    name: `${architecture} (released shapes, random weights)`,
    student: stateDict(shapes, 'module.', 1),
    teacher: stateDict(shapes, '', 100_001),
    optimizer: adamWState(shapes, 200_001),
  };
  await writeTorchCheckpoint(tree, await fileSink(out));
  console.log(`wrote ${out}: ${architecture} shapes, student, teacher and AdamW state`);
}

main().catch((error: unknown) => {
  console.error(errorMessage(error));
  process.exit(1);
});
