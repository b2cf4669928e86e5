/**
 * The checkpoint our writer commits as fixtures/checkpoints/written-by-cosmos-web.pt. scripts/fixtures/checkpoints.py
 * writes it through `writeWrittenFixture()`, loads it with torch.load and records what torch read in
 * fixtures/checkpoints/expected.json; the tests compare that record with this tree.
 */
import { join } from 'node:path';
import { fileSink } from '../checkpoint/nodeFiles.ts';
import type { TensorSource } from '../checkpoint/tensorRef.ts';
import { writeTorchCheckpoint, type WritableValue } from '../checkpoint/torchWriter.ts';

export const WRITTEN_FIXTURE_PATH = join(import.meta.dirname, '..', '..', 'fixtures', 'checkpoints', 'written-by-cosmos-web.pt');
export const WRITTEN_FIXTURE_ARCHIVE = 'written-by-cosmos-web';

/** Deterministic values in [-2, 2) from a linear congruential generator: no Math.random in fixtures. */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let state = seed >>> 0;
  for (let i = 0; i < n; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = state / 2 ** 30 - 2;
  }
  return out;
}

const tensor = (shape: number[], data: Float32Array): TensorSource => ({ shape, read: async () => data.slice() });

export function writtenFixtureTree(): WritableValue {
  const conv = tensor([4, 3, 2, 2], values(48, 1));
  // Every kind of float32 value torch must get back bit for bit: signed zero, the smallest subnormal, the
  // largest finite value, infinities, NaN.
  const specials = tensor([9], Float32Array.of(0, -0, 1.401298464324817e-45, 3.4028234663852886e38, -Infinity, Infinity, NaN, 1 / 3, -2.5));
  return {
    epoch: 3,
    name: 'written-by-cosmos-web',
    student: new Map<string, WritableValue>([
      ['module.visual.conv1.weight', conv],
      ['module.logit_scale', tensor([], Float32Array.of(Math.log(1 / 0.07)))],
      ['module.specials', specials],
      ['module.empty', tensor([0, 3], new Float32Array(0))],
    ]),
    teacher: new Map<string, WritableValue>([
      ['visual.conv1.weight', tensor([4, 3, 2, 2], values(48, 2))],
      ['logit_scale', tensor([], Float32Array.of(2.5))],
      // The same source object twice: torch must see one storage shared by two tensors (tied weights).
      ['tied', conv],
    ]),
    optimizer: {
      state: new Map<number, WritableValue>([
        [0, { step: tensor([], Float32Array.of(7)), exp_avg: tensor([2, 5], values(10, 3)), exp_avg_sq: tensor([2, 5], values(10, 4)) }],
      ]),
      param_groups: [{ lr: 0.0005, betas: [0.9, 0.98], eps: 1e-8, weight_decay: 0.5, amsgrad: false, foreach: null, params: [0, 1] }],
    },
    misc: [-7, 2 ** 31, 2 ** 40, 1.5, -2.25, 'héllo ✓', true, false, null, [], {}, new Map()],
  };
}

export async function writeWrittenFixture(path = WRITTEN_FIXTURE_PATH): Promise<void> {
  await writeTorchCheckpoint(writtenFixtureTree(), await fileSink(path), { archiveName: WRITTEN_FIXTURE_ARCHIVE });
}
