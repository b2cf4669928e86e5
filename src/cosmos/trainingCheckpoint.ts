/**
 * COSMOS training checkpoints in the released layout (COSMOS-SPEC section 8), which the reference code loads to
 * continue training:
 *
 *   {"epoch": int, "name": str,
 *    "student": OrderedDict("module.<name>" -> tensor),     DDP's prefix
 *    "teacher": OrderedDict("<name>" -> tensor),            absent when training without a teacher (CLIP mode)
 *    "optimizer": torch.optim.AdamW.state_dict()}
 *
 * The optimizer part is what torch 1.13 holds, down to the Python types: "state" is a dict from torch's parameter
 * index to {"step": float32 scalar tensor, "exp_avg", "exp_avg_sq"} for the parameters that have been updated,
 * and "param_groups" are the reference's two groups, the parameters without weight decay first (decayFor), then
 * the others, each in model order, numbered consecutively, as torch numbers them. Only trained parameters are in
 * the groups (the reference builds them from the parameters that require grad); frozen ones are still in
 * "student" and "teacher".
 */
import { FileError } from '../fileError.ts';
import type { CosmosModel } from './model.ts';
import { gpu } from '../tensor/engine.ts';
import { type AdamW, decayFor } from '../tensor/optim/adamw.ts';
import type { Tensor } from '../tensor/tensor.ts';
import type { ByteSink } from '../checkpoint/byteSink.ts';
import type { ByteSource } from '../checkpoint/byteSource.ts';
import { checkKeys } from '../checkpoint/checkKeys.ts';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { isTensorRef, type TensorRef, type TensorSource } from '../checkpoint/tensorRef.ts';
import { readTorchArchive } from '../checkpoint/torchArchive.ts';
import { pyDict, pyFloat, pyTuple, writeTorchCheckpoint, type WritableValue } from '../checkpoint/torchWriter.ts';
import type { PickleDict, PickleValue } from '../checkpoint/unpickle.ts';

/** What the checkpoint needs of a model: its parameters under their state_dict names, in state_dict order. */
export type NamedModel = Pick<CosmosModel, 'namedParameters'>;

export interface TrainingState {
  student: NamedModel;
  /** The EMA teacher; null in CLIP mode. */
  teacher: NamedModel | null;
  optimizer: AdamW;
  epoch: number;
  name: string;
  /** The learning rate of the last step (the schedule's value), kept in the param groups as torch keeps it. */
  lr: number;
}

export interface ParameterMoments {
  /** Updates applied to the parameter (torch's per-parameter "step"). */
  step: number;
  expAvg: TensorRef;
  expAvgSq: TensorRef;
}

export interface OptimizerCheckpoint {
  lr: number;
  betas: [number, number];
  eps: number;
  /** The decay group's; the other group has none. */
  weightDecay: number;
  /** The parameters in the groups, in torch's index order. */
  params: string[];
  /** By parameter name; parameters never updated have no entry. */
  state: Map<string, ParameterMoments>;
}

export interface TrainingCheckpoint {
  epoch: number;
  name: string;
  /** Without the "module." prefix. */
  student: Map<string, TensorRef>;
  teacher: Map<string, TensorRef> | null;
  optimizer: OptimizerCheckpoint | null;
}

const DDP_PREFIX = 'module.';
/** Hyperparameters both groups must share: our AdamW has one of each. */
const SHARED = ['lr', 'betas', 'eps'] as const;

/** torch's index order of the reference's param groups: [no-decay group, decay group], each in model order. */
function groupOrder(params: readonly (readonly [string, readonly number[]])[]): { noDecay: string[]; decay: string[] } {
  const noDecay: string[] = [];
  const decay: string[] = [];
  for (const [name, shape] of params) (decayFor(name, shape.length) ? decay : noDecay).push(name);
  return { noDecay, decay };
}

/** A GPU tensor as the writer's source: read back when its turn comes, so one tensor at a time is on the host. */
const fromGpu = (t: Tensor): TensorSource => ({ shape: t.shape, read: () => t.readFloat() });

const scalar = (value: number): TensorSource => ({ shape: [], read: async () => Float32Array.of(value) });

function stateDict(model: NamedModel, prefix: string): Map<string, WritableValue> {
  return new Map(model.namedParameters().map(([name, t]) => [prefix + name, fromGpu(t)]));
}

function optimizerStateDict(student: NamedModel, optimizer: AdamW, lr: number): WritableValue {
  const shapes = new Map(student.namedParameters().map(([name, t]) => [name, t.shape]));
  const states = new Map(optimizer.state().params.map((s) => [s.name, s]));
  const strangers = [...states.keys()].filter((name) => !shapes.has(name));
  if (strangers.length) throw new Error(`the optimizer holds parameters the student does not have: ${strangers.join(', ')}`);
  const { noDecay, decay } = groupOrder([...shapes].filter(([name]) => states.has(name)));
  const state = new Map<number, WritableValue>();
  [...noDecay, ...decay].forEach((name, index) => {
    const s = states.get(name)!;
    if (s.step > 0) state.set(index, { step: scalar(s.step), exp_avg: fromGpu(s.expAvg), exp_avg_sq: fromGpu(s.expAvgSq) });
  });
  const { betas, eps, weightDecay } = optimizer.options;
  // Keys in the order torch 1.13's AdamW puts them: the group's own weight_decay first, then its defaults. The
  // hyperparameters are floats even when integral (weight_decay 0.0), betas a tuple, as torch saves them.
  const group = (weight_decay: number, first: number, count: number) => ({
    weight_decay: pyFloat(weight_decay),
    lr: pyFloat(lr),
    betas: pyTuple(betas.map(pyFloat)),
    eps: pyFloat(eps),
    amsgrad: false,
    foreach: null,
    maximize: false,
    capturable: false,
    params: Array.from({ length: count }, (_, i) => first + i),
  });
  return { state: pyDict(state), param_groups: [group(0, 0, noDecay.length), group(weightDecay, noDecay.length, decay.length)] };
}

/**
 * Streams the checkpoint to `sink`: the pickle first (it needs only shapes), then each tensor read back from the
 * GPU, written and let go. Nothing may step the optimizer or the models until the returned promise settles.
 */
export async function writeTrainingCheckpoint(sink: ByteSink, state: TrainingState): Promise<void> {
  const { student, teacher, optimizer, epoch, name, lr } = state;
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new Error(`epoch ${epoch} is not a count`);
  if (!(lr >= 0)) throw new Error(`learning rate ${lr} is not a non-negative number`);
  const tree: Record<string, WritableValue> = { epoch, name, student: stateDict(student, DDP_PREFIX) };
  if (teacher) tree.teacher = stateDict(teacher, '');
  tree.optimizer = optimizerStateDict(student, optimizer, lr);
  await writeTorchCheckpoint(tree, sink);
}

/** Reads the optimizer part of a checkpoint and names its state by parameter, through the reference's grouping. */
async function readOptimizer(
  file: string,
  value: PickleValue | undefined,
  student: Map<string, TensorRef>,
  trainable: ReadonlySet<string> | undefined,
): Promise<OptimizerCheckpoint> {
  const fail = (what: string): never => {
    throw new FileError(file, `${file}: the optimizer state ${what}`);
  };
  if (!(value instanceof Map)) return fail('is not a dict');
  const groups = value.get('param_groups');
  const saved = value.get('state');
  if (!Array.isArray(groups) || !(saved instanceof Map)) return fail('has no "state" dict and "param_groups" list, so it is not a torch.optim state_dict');
  const [plain, decayed] = groups;
  if (groups.length !== 2 || !(plain instanceof Map) || !(decayed instanceof Map)) {
    return fail(`has ${groups.length} param groups; the COSMOS recipe has 2 (no weight decay, then weight decay)`);
  }
  const number = (group: PickleDict, key: string): number => {
    const v = group.get(key);
    return typeof v === 'number' ? v : fail(`has ${key} ${String(v)}, not a number`);
  };
  const betasOf = (group: PickleDict): [number, number] => {
    const b = group.get('betas');
    return Array.isArray(b) && b.length === 2 && b.every((x) => typeof x === 'number') ? [b[0] as number, b[1] as number] : fail('has malformed betas');
  };
  for (const key of SHARED) {
    const same = key === 'betas' ? betasOf(plain).join() === betasOf(decayed).join() : number(plain, key) === number(decayed, key);
    if (!same) fail(`has a different ${key} in each group; one AdamW cannot hold both`);
  }
  if (number(plain, 'weight_decay') !== 0) fail('decays the first group; COSMOS decays only the second');

  const shapes = [...student].filter(([name]) => !trainable || trainable.has(name)).map(([name, t]) => [name, t.shape] as const);
  const { noDecay, decay } = groupOrder(shapes);
  const indices = (group: PickleDict, first: number, count: number, what: string): void => {
    const params = group.get('params');
    const expected = Array.from({ length: count }, (_, i) => first + i);
    if (!Array.isArray(params) || params.join() !== expected.join()) {
      fail(
        `${what} group holds ${Array.isArray(params) ? params.length : 'no list of'} parameters, where the reference grouping of ` +
          `${trainable ? 'the trainable' : 'all'} student parameters gives ${count} numbered from ${first}` +
          (trainable ? '' : ' (if only some were trained, say which with `trainable`)'),
      );
    }
  };
  indices(plain, 0, noDecay.length, 'the no-decay');
  indices(decayed, noDecay.length, decay.length, 'the decay');
  const params = [...noDecay, ...decay];

  const state = new Map<string, ParameterMoments>();
  for (const [index, entry] of saved) {
    const name = typeof index === 'number' ? params[index] : undefined;
    if (name === undefined) return fail(`has an entry for parameter ${String(index)}, which no group holds`);
    const get = (key: string): TensorRef => {
      const t = entry instanceof Map ? entry.get(key) : undefined;
      if (!isTensorRef(t)) return fail(`of ${name} has no ${key} tensor`);
      if (t.shape.join() !== student.get(name)!.shape.join()) fail(`of ${name}: ${key} has shape [${t.shape}], the parameter [${student.get(name)!.shape}]`);
      return t;
    };
    const stepValue = entry instanceof Map ? entry.get('step') : undefined;
    // torch >= 1.12 keeps the step as a scalar tensor, older versions as an int.
    const step = isTensorRef(stepValue) && stepValue.numel === 1 ? (await stepValue.read())[0]! : stepValue;
    if (typeof step !== 'number' || !Number.isSafeInteger(step) || step < 0) return fail(`of ${name} has step ${String(step)}`);
    state.set(name, { step, expAvg: get('exp_avg'), expAvgSq: get('exp_avg_sq') });
  }
  return {
    lr: number(decayed, 'lr'),
    betas: betasOf(decayed),
    eps: number(decayed, 'eps'),
    weightDecay: number(decayed, 'weight_decay'),
    params,
    state,
  };
}

/**
 * Opens a training checkpoint (ours or the reference's). Only the pickle is parsed (and the step scalars read):
 * tensors are lazy. `trainable` names the parameters the optimizer held when only some were trained (frozen
 * towers); by default, all of the student's.
 */
export async function readTrainingCheckpoint(source: ByteSource, options: { trainable?: Iterable<string> } = {}): Promise<TrainingCheckpoint> {
  const file = source.name;
  // loadCheckpoint checks and names the state_dicts (prefix stripped); the archive is opened again for the rest,
  // which re-reads only its central directory and pickle.
  const student = await loadCheckpoint(source, { weights: 'student' });
  const { epoch, name, topLevelKeys } = student.meta;
  if (student.meta.weights !== 'student' || epoch === null || name === null) {
    throw new FileError(file, `${file} is not a COSMOS training checkpoint: it needs "epoch", "name" and "student" (it has ${topLevelKeys.join(', ')})`);
  }
  const teacher = topLevelKeys.includes('teacher') ? (await loadCheckpoint(source, { weights: 'teacher' })).tensors : null;
  let optimizer: OptimizerCheckpoint | null = null;
  if (topLevelKeys.includes('optimizer')) {
    const { tree } = await readTorchArchive(source);
    const trainable = options.trainable ? new Set(options.trainable) : undefined;
    const unknown = [...(trainable ?? [])].filter((n) => !student.tensors.has(n));
    if (unknown.length) throw new FileError(file, `${file}: trainable names parameters the student does not have: ${unknown.join(', ')}`);
    optimizer = await readOptimizer(file, (tree as PickleDict).get('optimizer'), student.tensors, trainable);
  }
  return { epoch, name, student: student.tensors, teacher, optimizer };
}

/** Uploads a state_dict into a model's parameters in place, one tensor at a time. */
async function uploadWeights(model: NamedModel, tensors: Map<string, TensorRef>): Promise<void> {
  const params = model.namedParameters();
  checkKeys(new Map(params.map(([k, t]) => [k, t.shape])), tensors);
  for (const [name, t] of params) gpu().write(t.range, await tensors.get(name)!.read());
}

/**
 * Puts a checkpoint back into live models and optimizer (the ones a CosmosTrainer holds), in place: weights,
 * both moments and each parameter's step. A parameter the optimizer trains but the checkpoint has no state for
 * starts afresh (zero moments, step 0), as in torch; state for parameters the optimizer does not train is left out.
 */
export async function restoreTrainingCheckpoint(
  checkpoint: TrainingCheckpoint,
  target: { student: NamedModel; teacher: NamedModel | null; optimizer: AdamW | null },
): Promise<void> {
  await uploadWeights(target.student, checkpoint.student);
  if (target.teacher) {
    if (!checkpoint.teacher) throw new Error(`checkpoint ${checkpoint.name} has no teacher to restore`);
    await uploadWeights(target.teacher, checkpoint.teacher);
  }
  if (target.optimizer) {
    if (!checkpoint.optimizer) throw new Error(`checkpoint ${checkpoint.name} has no optimizer state to restore`);
    const steps = new Map<string, number>();
    for (const { name, expAvg, expAvgSq } of target.optimizer.state().params) {
      const saved = checkpoint.optimizer.state.get(name);
      if (saved && saved.expAvg.shape.join() !== expAvg.shape.join()) {
        throw new Error(`checkpoint ${checkpoint.name}: the moments of ${name} have shape [${saved.expAvg.shape}], the optimizer's [${expAvg.shape}]`);
      }
      if (!saved) {
        gpu().fill0(expAvg.range, 0, expAvg.byteSize);
        gpu().fill0(expAvgSq.range, 0, expAvgSq.byteSize);
        continue;
      }
      gpu().write(expAvg.range, await saved.expAvg.read());
      gpu().write(expAvgSq.range, await saved.expAvgSq.read());
      steps.set(name, saved.step);
    }
    target.optimizer.restoreSteps(steps);
  }
  await gpu().sync();
}
