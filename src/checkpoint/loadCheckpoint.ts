/**
 * Opens a checkpoint (a torch.save .pt file, a TorchScript archive or a .safetensors file) and gives one set of
 * weights as lazy tensors: the COSMOS layout {"epoch", "name", "student", "teacher", "optimizer"} (choose student or
 * teacher), an OpenCLIP training checkpoint {"state_dict", ...}, a bare state_dict, or a scripted module's weights
 * (OpenAI's CLIP releases). DDP's "module." prefix is stripped. Only the pickle is parsed: no tensor byte is read
 * until asked, and the optimizer state never is.
 */
import { FileError } from '../fileError.ts';
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
/** torch.save before PyTorch 1.6 began its file with this pickled magic number (protocol 2, LONG1 of 10 bytes). */
const LEGACY_MAGIC = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
/** A POSIX tar header says "ustar" at this offset: the format of torch.save in PyTorch's first releases. */
const TAR_MAGIC_AT = 257;

/** Says what a file that is not a zip archive is, when it is an older PyTorch format, and refuses it. */
async function refuseNotZip(source: ByteSource): Promise<never> {
  const file = source.name;
  const head = await source.read(0, Math.min(source.size, TAR_MAGIC_AT + 5));
  const resave = 'load it with torch.load and save it again with torch.save of PyTorch 1.6 or later, which writes a zip archive';
  if (LEGACY_MAGIC.every((b, i) => head[i] === b)) {
    throw new FileError(file, `${file} is a checkpoint in the legacy format of torch.save before PyTorch 1.6, which is not read here: ${resave}`);
  }
  if (new TextDecoder().decode(head.subarray(TAR_MAGIC_AT)) === 'ustar') {
    throw new FileError(file, `${file} is a tar archive, the checkpoint format of PyTorch's first releases, which is not read here: ${resave}`);
  }
  throw new FileError(file, `${file} is neither a PyTorch .pt checkpoint (a zip archive) nor a .safetensors file`);
}

function chooseWeights(
  file: string,
  root: PickleValue,
  wanted: WeightsChoice | undefined,
): { weights: CheckpointMeta['weights']; value: PickleValue | undefined } {
  if (!(root instanceof Map)) throw new FileError(file, `${file} holds a ${Array.isArray(root) ? 'list' : typeof root}, not a checkpoint dict`);
  const keys = () => [...root.keys()].map(String).slice(0, 12).join(', ');
  if (root.has('state') && root.has('param_groups') && !root.has('state_dict')) {
    throw new FileError(
      file,
      `${file} holds an optimizer's state (torch.optim's state_dict: "state" and "param_groups"), not a model's weights; choose the model's checkpoint`,
    );
  }
  if (root.has('student') || root.has('teacher')) {
    const weights = wanted ?? 'student';
    if (!root.has(weights)) throw new FileError(file, `${file} has no ${weights} weights (top-level keys: ${keys()})`);
    return { weights, value: root.get(weights) };
  }
  if (wanted === 'teacher') throw new FileError(file, `${file} is not a COSMOS checkpoint and has no teacher weights (top-level keys: ${keys()})`);
  return root.has('state_dict') ? { weights: 'state_dict', value: root.get('state_dict') } : { weights: 'state_dict', value: root };
}

function stateDict(file: string, part: string, value: PickleValue | undefined): Map<string, TensorRef> {
  if (!(value instanceof Map)) throw new FileError(file, `${file}: the ${part} weights are not a dict of tensors`);
  const tensors = new Map<string, TensorRef>();
  for (const [key, tensor] of value) {
    if (typeof key !== 'string' || !isTensorRef(tensor)) {
      throw new FileError(
        file,
        `${file}: ${part} entry ${String(key)} is ${isTensorRef(tensor) ? 'not named by a string' : 'not a tensor'}, so this is not a state_dict`,
      );
    }
    const name = key.startsWith(DDP_PREFIX) ? key.slice(DDP_PREFIX.length) : key;
    if (tensors.has(name)) throw new FileError(file, `${file}: ${part} holds ${name} both with and without the "${DDP_PREFIX}" prefix`);
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
    if (options.weights === 'teacher') throw new FileError(file, `${file} is a safetensors file of one set of weights, with no teacher`);
    const { tensors: raw } = await readSafetensors(source);
    const tensors = stateDict(file, 'state_dict', new Map(raw));
    return {
      tensors,
      meta: { format: 'safetensors', weights: 'state_dict', topLevelKeys: [...raw.keys()], epoch: null, name: null, ...summary(tensors) },
    };
  }
  if (!ZIP_MAGIC.every((b, i) => head[i] === b)) await refuseNotZip(source);
  const { tree } = await readTorchArchive(source);
  if (isScriptModule(tree)) {
    if (options.weights === 'teacher') throw new FileError(file, `${file} is a TorchScript archive of one model, with no teacher`);
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
