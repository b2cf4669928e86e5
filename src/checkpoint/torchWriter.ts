/**
 * Writes a tree of plain values and float32 tensors as a `.pt` file that torch.load reads: a zip with
 * `<archive>/data.pkl` (pickle protocol 2), `<archive>/byteorder`, one `<archive>/data/<key>` per storage and
 * `<archive>/version`. Streams: the pickle needs only shapes, then each tensor is read, written and let go,
 * so a 2.4 GB checkpoint never sits in memory.
 */
import type { ByteSink } from './byteSink.ts';
import { PickleWriter } from './pickleWriter.ts';
import { contiguousStride, float32Bytes, isShape, product, type TensorSource } from './tensorRef.ts';
import { ZipWriter } from './zipWriter.ts';

export type WritableKey = string | number | bigint | boolean | null;
/**
 * What can be written. A `Map` becomes an OrderedDict (like a state_dict), a plain object a dict, an array a list.
 * A JS number is a Python int when it is an integer, a float otherwise. Where Python needs the other type (as
 * torch's optimizer state_dict does), say so with pyTuple, pyFloat or pyDict.
 */
export type WritableValue =
  | TensorSource
  | number
  | bigint
  | string
  | boolean
  | null
  | PythonTyped
  | readonly WritableValue[]
  | ReadonlyMap<WritableKey, WritableValue>
  | { readonly [key: string]: WritableValue };

/** A symbol, so no plain object written as a dict can be mistaken for a typed value. */
const PYTHON_TYPE = Symbol('Python type');

/** A value written as the Python type it names rather than the type its JS form defaults to. */
export type PythonTyped =
  | { readonly [PYTHON_TYPE]: 'tuple'; readonly items: readonly WritableValue[] }
  | { readonly [PYTHON_TYPE]: 'float'; readonly value: number }
  | { readonly [PYTHON_TYPE]: 'dict'; readonly entries: ReadonlyMap<WritableKey, WritableValue> };

/** A tuple, where an array would be a list. */
export const pyTuple = (items: readonly WritableValue[]): PythonTyped => ({ [PYTHON_TYPE]: 'tuple', items });
/** A float even when the value is integral (0.0), where a number would then be an int. */
export const pyFloat = (value: number): PythonTyped => ({ [PYTHON_TYPE]: 'float', value });
/** A plain dict with keys of any writable type, where a Map would be an OrderedDict and an object has string keys. */
export const pyDict = (entries: ReadonlyMap<WritableKey, WritableValue>): PythonTyped => ({ [PYTHON_TYPE]: 'dict', entries });

const isPythonTyped = (value: object): value is PythonTyped => PYTHON_TYPE in value;

export interface WriteOptions {
  /** The folder of the entries; torch names it after the file's stem, or "archive" when saving to a stream. */
  archiveName?: string;
}

export function isTensorSource(value: unknown): value is TensorSource {
  return typeof value === 'object' && value !== null && typeof (value as TensorSource).read === 'function' && 'shape' in value;
}

interface StorageToWrite {
  key: string;
  source: TensorSource;
  label: string;
}

/** Encodes the tree into the pickle and lists the storages, one per distinct TensorSource object. */
class TreeEncoder {
  readonly pickle = new PickleWriter();
  readonly storages: StorageToWrite[] = [];
  private readonly keys = new Map<TensorSource, string>();
  private readonly open = new Set<object>();

  value(value: WritableValue, path: string): void {
    const p = this.pickle;
    if (value === null) p.none();
    else if (typeof value === 'boolean') p.bool(value);
    else if (typeof value === 'bigint') p.int(value);
    else if (typeof value === 'number') {
      if (Number.isInteger(value)) p.int(value);
      else p.float(value);
    } else if (typeof value === 'string') p.str(value);
    else if (isTensorSource(value)) this.tensor(value, path);
    else if (isPythonTyped(value)) this.typed(value, path);
    else if (Array.isArray(value)) this.nested(value, path, () => this.list(value, path));
    else if (value instanceof Map) this.nested(value, path, () => this.dict([...value], path, 'OrderedDict'));
    else this.nested(value, path, () => this.dict(Object.entries(value), path, 'dict'));
  }

  private typed(value: PythonTyped, path: string): void {
    switch (value[PYTHON_TYPE]) {
      case 'float':
        this.pickle.float(value.value);
        break;
      case 'tuple':
        this.nested(value, path, () => this.tuple(value.items, path));
        break;
      case 'dict':
        this.nested(value, path, () => this.dict([...value.entries], path, 'dict'));
    }
  }

  /** Writes a container's contents, refusing one that contains itself (the pickle would never end). */
  private nested(container: object, path: string, write: () => void): void {
    if (this.open.has(container)) throw new Error(`cannot write ${path}: it contains itself`);
    this.open.add(container);
    write();
    this.open.delete(container);
  }

  private list(items: readonly WritableValue[], path: string): void {
    const p = this.pickle;
    p.emptyList();
    if (items.length > 0) {
      p.mark();
      for (const [i, item] of items.entries()) this.value(item, `${path}[${i}]`);
      p.appends();
    }
  }

  private tuple(items: readonly WritableValue[], path: string): void {
    const p = this.pickle;
    if (items.length === 0) p.emptyTuple();
    else {
      p.mark();
      for (const [i, item] of items.entries()) this.value(item, `${path}[${i}]`);
      p.tuple();
    }
  }

  private dict(entries: readonly (readonly [WritableKey, WritableValue])[], path: string, type: 'dict' | 'OrderedDict'): void {
    const p = this.pickle;
    if (type === 'OrderedDict') p.global('collections', 'OrderedDict').emptyTuple().reduce();
    else p.emptyDict();
    if (entries.length > 0) {
      p.mark();
      for (const [key, item] of entries) {
        this.value(key, path);
        this.value(item, path ? `${path}.${String(key)}` : String(key));
      }
      p.setItems();
    }
  }

  /** torch._utils._rebuild_tensor_v2(storage, 0, size, stride, False, OrderedDict()) over a FloatStorage. */
  private tensor(source: TensorSource, label: string): void {
    if (!isShape(source.shape)) throw new Error(`cannot write tensor ${label}: its shape ${JSON.stringify(source.shape)} is not a list of sizes`);
    let key = this.keys.get(source);
    if (key === undefined) {
      key = String(this.storages.length);
      this.keys.set(source, key);
      this.storages.push({ key, source, label });
    }
    const p = this.pickle;
    p.global('torch._utils', '_rebuild_tensor_v2').mark();
    p.mark().str('storage').global('torch', 'FloatStorage').str(key).str('cpu').int(product(source.shape)).tuple().persistentId();
    p.int(0);
    this.tuple(source.shape, label);
    this.tuple(contiguousStride(source.shape), label);
    p.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
  }
}

export async function writeTorchCheckpoint(tree: WritableValue, sink: ByteSink, options: WriteOptions = {}): Promise<void> {
  const archive = options.archiveName ?? 'archive';
  if (!/^[^/\\]+$/.test(archive)) throw new Error(`archive name ${JSON.stringify(archive)} must be one path segment`);
  const encoder = new TreeEncoder();
  encoder.value(tree, '');
  const zip = new ZipWriter(sink);
  const text = new TextEncoder();
  await zip.add(`${archive}/data.pkl`, encoder.pickle.finish());
  await zip.add(`${archive}/byteorder`, text.encode('little'));
  for (const { key, source, label } of encoder.storages) {
    await zip.add(`${archive}/data/${key}`, await float32Bytes(source, label));
  }
  await zip.add(`${archive}/version`, text.encode('3\n'));
  await zip.finish();
}
