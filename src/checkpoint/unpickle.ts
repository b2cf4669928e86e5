/**
 * Reads a checkpoint's data.pkl with the npm `pickleparser`, which interprets opcodes and never evaluates code;
 * every global the pickle names goes through an allowlist: the torch rebuild functions, OrderedDict, the storage
 * types, TorchScript's typed-list builders, and TorchScript classes (`__torch__.*`), whose objects become records of
 * their attributes (the archive's code is never read, let alone run). Anything else stops the load with an error
 * that names the global. Persistent ids ("storage", type, key, location, numel) become lazy storages, so no tensor
 * byte is read here.
 */
import { Parser } from 'pickleparser';
import { FileError } from '../fileError.ts';
import type { DType } from './dtypes.ts';
import { LazyTensor, type Storage, type TensorRef } from './tensorRef.ts';
import { printable } from '../format.ts';

export type PickleKey = string | number | bigint | boolean | null;
/**
 * What a checkpoint's pickle gives: dicts (OrderedDict too) as Maps, lists and tuples as arrays, lazy tensors, and
 * TorchScript objects as records.
 */
export type PickleValue = TensorRef | number | bigint | string | boolean | null | Uint8Array | PickleValue[] | PickleDict | ScriptObject;
export type PickleDict = Map<PickleKey, PickleValue>;

/**
 * An object of a TorchScript class (a scripted module, `__torch__.open_clip.model.CLIP`), taken as a record: the
 * class's qualified name and the attributes the pickle gives it (parameters, buffers, submodules, plain values).
 */
export class ScriptObject {
  private state: PickleDict | null = null;

  constructor(readonly className: string) {}

  get attributes(): PickleDict {
    if (!this.state) throw new CheckpointError(`the TorchScript object ${this.className} was never given its attributes`);
    return this.state;
  }

  /** The pickle's BUILD: once, with a dict of attributes named by strings. */
  __setstate__(state: unknown): void {
    if (this.state) throw new CheckpointError(`the TorchScript object ${this.className} is given its attributes twice`);
    if (!(state instanceof Map) || [...state.keys()].some((k) => typeof k !== 'string')) {
      throw new CheckpointError(`the TorchScript object ${this.className} is given attributes that are not a dict named by strings`);
    }
    this.state = state as PickleDict;
    Object.freeze(this);
  }
}

/** TorchScript's typed containers (torch.jit._pickle): each builder gets its list, restore_type_tag a value and its type. */
const SCRIPT_CONTAINERS = new Set(['build_intlist', 'build_doublelist', 'build_boollist', 'build_tensorlist', 'restore_type_tag']);

const STORAGE_TYPES: Record<string, DType> = {
  DoubleStorage: 'float64',
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ShortStorage: 'int16',
  CharStorage: 'int8',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

/** The value a storage type's GLOBAL pushes: only meaningful inside a persistent id. */
class StorageType {
  constructor(readonly dtype: DType) {
    Object.freeze(this);
  }
}

/**
 * Errors raised by our own code while the parser runs, as opposed to the parser's own (a malformed stream).
 * `complete` ones already name the file part (a refusal, a short storage); others get the pickle's name in front.
 */
class CheckpointError extends Error {
  constructor(
    message: string,
    readonly complete = false,
  ) {
    super(message);
  }
}

/** Runs our own code inside a parser callback, marking its errors as complete sentences. */
function ours<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    throw error instanceof CheckpointError ? error : new CheckpointError((error as Error).message, true);
  }
}

/** Finds (or makes) the storage a persistent id names; it checks that the bytes exist. */
export type StorageResolver = (key: string, dtype: DType, numel: number) => Storage;

// Arrow functions: the parser's NEWOBJ/OBJ/INST cannot construct them, only REDUCE can call them.
function allowedGlobal(module: string, name: string): unknown {
  if (module === 'torch._utils' && name === '_rebuild_tensor_v2') {
    return (storage: unknown, offset: unknown, size: unknown, stride: unknown) => {
      if (!(storage instanceof LazyStorage)) throw new CheckpointError('_rebuild_tensor_v2 is called without a storage');
      return ours(() => new LazyTensor(storage.storage, offset as number, size as number[], stride as number[]));
    };
  }
  if (module === 'torch._utils' && name === '_rebuild_parameter') {
    return (data: unknown) => {
      if (!(data instanceof LazyTensor)) throw new CheckpointError('_rebuild_parameter is called without a tensor');
      return data;
    };
  }
  if (module === 'collections' && name === 'OrderedDict') {
    return (items?: Iterable<[PickleKey, PickleValue]>) => new Map(items);
  }
  const dtype = module === 'torch' ? STORAGE_TYPES[name] : undefined;
  if (dtype) return new StorageType(dtype);
  if (module === 'torch.jit._pickle' && SCRIPT_CONTAINERS.has(name)) return (value: unknown) => value;
  if (module.startsWith('__torch__.')) {
    const className = `${module}.${name}`;
    // A class: the parser's NEWOBJ constructs it (with no arguments, as TorchScript writes it); REDUCE cannot call it.
    return class extends ScriptObject {
      constructor(...args: unknown[]) {
        if (args.length) throw new CheckpointError(`the TorchScript object ${className} is constructed with arguments`);
        super(className);
      }
    };
  }
  return undefined;
}

/** A resolved persistent id; _rebuild_tensor_v2 takes only these as storages. */
class LazyStorage {
  constructor(readonly storage: Storage) {
    Object.freeze(this);
  }
}

function persistentStorage(pid: unknown, resolve: StorageResolver): LazyStorage {
  const [kind, type, key, , numel] = Array.isArray(pid) ? pid : [];
  if (
    !Array.isArray(pid) ||
    pid.length !== 5 ||
    kind !== 'storage' ||
    !(type instanceof StorageType) ||
    typeof key !== 'string' ||
    !Number.isSafeInteger(numel) ||
    (numel as number) < 0
  ) {
    throw new CheckpointError('it holds a persistent id that is not a ("storage", type, key, location, numel) tuple');
  }
  return new LazyStorage(ours(() => resolve(key, type.dtype, numel as number)));
}

const MAX_DEPTH = 200;

function describe(value: unknown): string {
  if (value instanceof StorageType) return `a bare ${value.dtype} storage type`;
  if (value instanceof LazyStorage) return 'a bare storage';
  if (typeof value === 'function') return 'a bare function';
  return typeof value === 'object' && value !== null ? `an object of type ${value.constructor?.name ?? 'unknown'}` : typeof value;
}

/**
 * Checks that the parsed value is plain data and tensors, nothing a hostile pickle could have bent: no cycles,
 * no leftover callables, no containers carrying extra properties. Shared sub-trees are visited once.
 */
function checkTree(value: unknown, depth: number, open: Set<object>, done: Set<object>): asserts value is PickleValue {
  if (value === null || ['number', 'bigint', 'string', 'boolean'].includes(typeof value)) return;
  if (value instanceof LazyTensor || value instanceof Uint8Array) return;
  if (typeof value !== 'object') throw new CheckpointError(`its result contains ${describe(value)}, which is not checkpoint data`);
  if (done.has(value)) return;
  if (open.has(value)) throw new CheckpointError('it builds a container that contains itself');
  if (depth > MAX_DEPTH) throw new CheckpointError(`it nests containers deeper than ${MAX_DEPTH} levels`);
  open.add(value);
  if (value instanceof ScriptObject) {
    checkTree(value.attributes, depth + 1, open, done);
  } else if (Array.isArray(value) && Object.getPrototypeOf(value) === Array.prototype && Object.keys(value).length === value.length) {
    for (const item of value) checkTree(item, depth + 1, open, done);
  } else if (value instanceof Map && Object.getPrototypeOf(value) === Map.prototype && Object.keys(value).length === 0) {
    for (const [key, item] of value) {
      if (key !== null && !['number', 'bigint', 'string', 'boolean'].includes(typeof key)) {
        throw new CheckpointError(`it has a dict key that is ${describe(key)}; checkpoints use string and integer keys`);
      }
      checkTree(item, depth + 1, open, done);
    }
  } else {
    throw new CheckpointError(`its result contains ${describe(value)}, which is not checkpoint data`);
  }
  open.delete(value);
  done.add(value);
}

/**
 * Unpickles `pickle`, the `entry` (e.g. "model/data.pkl") of `file`, both named in errors. Never executes the
 * pickle: only the allowlisted rebuild functions above run, on checked arguments.
 */
export function unpickle(pickle: Uint8Array, file: string, entry: string, resolveStorage: StorageResolver): PickleValue {
  const parser = new Parser({
    unpicklingTypeOfDictionary: 'Map',
    unpicklingTypeOfSet: 'array',
    nameResolver: {
      resolve(module, name) {
        const allowed = allowedGlobal(module, name);
        if (allowed === undefined) {
          throw new CheckpointError(
            `refusing to load ${file}: the checkpoint's pickle calls ${module}.${name}, which is not an allowed torch rebuild function`,
            true,
          );
        }
        return allowed as () => unknown;
      },
    },
    persistentResolver: { resolve: (pid) => persistentStorage(pid, resolveStorage) },
    extensionResolver: {
      resolve(code) {
        throw new CheckpointError(`refusing to load ${file}: the checkpoint's pickle uses extension code ${code}, which torch never writes`, true);
      },
    },
  });
  let value: unknown;
  try {
    value = parser.parse(pickle);
    checkTree(value, 0, new Set(), new Set());
  } catch (error) {
    const message = (error as Error).message;
    if (error instanceof CheckpointError && error.complete) throw new FileError(file, message, { cause: error });
    // The parser's complaint may quote the pickle's bytes: shown on one line, cut short.
    const problem = error instanceof CheckpointError ? message : `the pickle is malformed (${printable(message)})`;
    throw new FileError(file, `${file}: ${entry} cannot be loaded: ${problem}`, { cause: error });
  }
  return value;
}
