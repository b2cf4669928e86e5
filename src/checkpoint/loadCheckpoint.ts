/**
 * Opens a checkpoint (a torch.save .pt file, a TorchScript archive or a .safetensors file) and gives one set of
 * weights as lazy tensors: the COSMOS layout {"epoch", "name", "student", "teacher", "optimizer"} (choose student or
 * teacher), an OpenCLIP training checkpoint {"state_dict", ...}, a bare state_dict, or a scripted module's weights
 * (OpenAI's CLIP releases). DDP's "module." prefix is stripped. Only the pickle is parsed: no tensor byte is read
 * until asked, and the optimizer state never is.
 */
import type { ByteSource } from './byteSource.ts';
import type { DType } from './dtypes.ts';
import { looksLikeSafetensors, readSafetensors } from './safetensors.ts';
import { isTensorRef, type TensorRef } from './tensorRef.ts';
import { readTorchArchive } from './torchArchive.ts';
import { isScriptModule, scriptModuleWeights } from './torchScript.ts';
import type { PickleValue } from './unpickle.ts';

export type WeightsChoice = 'student' | 'teacher';

export interface CheckpointMeta {
  /** torch.save's zip ('pt'), a TorchScript archive (torch.jit.save's zip), or safetensors. */
  format: 'pt' | 'torchscript' | 'safetensors';
  /** A TorchScript archive's root class, e.g. "__torch__.multimodal.model.multimodal_transformer.Multimodal". */
  scriptClass?: string;
  /** What the tensors are: COSMOS's student or teacher, or the file's only state_dict. */
  weights: WeightsChoice | 'state_dict';
  topLevelKeys: string[];
  epoch: number | null;
  name: string | null;
  tensorCount: number;
  parameterCount: number;
  /** How many tensors of each element type. */
  dtypes: Partial<Record<DType, number>>;
}

export interface LoadedCheckpoint {
  tensors: Map<string, TensorRef>;
  meta: CheckpointMeta;
}

const DDP_PREFIX = 'module.';
const ZIP_MAGIC = [0x50, 0x4b, 0x03, 0x04];

function chooseWeights(
  file: string,
  root: PickleValue,
  wanted: WeightsChoice | undefined,
): { weights: CheckpointMeta['weights']; value: PickleValue | undefined } {
  if (!(root instanceof Map)) throw new Error(`${file} holds a ${Array.isArray(root) ? 'list' : typeof root}, not a checkpoint dict`);
  const keys = () => [...root.keys()].map(String).slice(0, 12).join(', ');
  if (root.has('student') || root.has('teacher')) {
    const weights = wanted ?? 'student';
    if (!root.has(weights)) throw new Error(`${file} has no ${weights} weights (top-level keys: ${keys()})`);
    return { weights, value: root.get(weights) };
  }
  if (wanted === 'teacher') throw new Error(`${file} is not a COSMOS checkpoint and has no teacher weights (top-level keys: ${keys()})`);
  return root.has('state_dict') ? { weights: 'state_dict', value: root.get('state_dict') } : { weights: 'state_dict', value: root };
}

function stateDict(file: string, part: string, value: PickleValue | undefined): Map<string, TensorRef> {
  if (!(value instanceof Map)) throw new Error(`${file}: the ${part} weights are not a dict of tensors`);
  const tensors = new Map<string, TensorRef>();
  for (const [key, tensor] of value) {
    if (typeof key !== 'string' || !isTensorRef(tensor)) {
      throw new Error(
        `${file}: ${part} entry ${String(key)} is ${isTensorRef(tensor) ? 'not named by a string' : 'not a tensor'}, so this is not a state_dict`,
      );
    }
    const name = key.startsWith(DDP_PREFIX) ? key.slice(DDP_PREFIX.length) : key;
    if (tensors.has(name)) throw new Error(`${file}: ${part} holds ${name} both with and without the "${DDP_PREFIX}" prefix`);
    tensors.set(name, tensor);
  }
  return tensors;
}

function summary(tensors: Map<string, TensorRef>): Pick<CheckpointMeta, 'tensorCount' | 'parameterCount' | 'dtypes'> {
  const dtypes: Partial<Record<DType, number>> = {};
  let parameterCount = 0;
  for (const t of tensors.values()) {
    dtypes[t.dtype] = (dtypes[t.dtype] ?? 0) + 1;
    parameterCount += t.numel;
  }
  return { tensorCount: tensors.size, parameterCount, dtypes };
}

export async function loadCheckpoint(source: ByteSource, options: { weights?: WeightsChoice } = {}): Promise<LoadedCheckpoint> {
  const file = source.name;
  const head = await source.read(0, Math.min(source.size, 9));
  if (looksLikeSafetensors(head, source.size)) {
    if (options.weights === 'teacher') throw new Error(`${file} is a safetensors file of one set of weights, with no teacher`);
    const { tensors: raw } = await readSafetensors(source);
    const tensors = stateDict(file, 'state_dict', new Map(raw));
    return {
      tensors,
      meta: { format: 'safetensors', weights: 'state_dict', topLevelKeys: [...raw.keys()], epoch: null, name: null, ...summary(tensors) },
    };
  }
  if (!ZIP_MAGIC.every((b, i) => head[i] === b)) {
    throw new Error(`${file} is neither a PyTorch .pt checkpoint (a zip archive) nor a .safetensors file`);
  }
  const { tree } = await readTorchArchive(source);
  if (isScriptModule(tree)) {
    if (options.weights === 'teacher') throw new Error(`${file} is a TorchScript archive of one model, with no teacher`);
    const tensors = scriptModuleWeights(tree);
    return {
      tensors,
      meta: { format: 'torchscript', scriptClass: tree.className, weights: 'state_dict', topLevelKeys: [], epoch: null, name: null, ...summary(tensors) },
    };
  }
  const { weights, value } = chooseWeights(file, tree, options.weights);
  const tensors = stateDict(file, weights, value);
  const root = tree as Map<unknown, PickleValue>;
  const epoch = root.get('epoch');
  const name = root.get('name');
  return {
    tensors,
    meta: {
      format: 'pt',
      weights,
      topLevelKeys: [...root.keys()].map(String),
      epoch: typeof epoch === 'number' ? epoch : null,
      name: typeof name === 'string' ? name : null,
      ...summary(tensors),
    },
  };
}
