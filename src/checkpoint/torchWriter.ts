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
 * A JS number is a Python int when it is an integer, a float otherwise.
 */
export type WritableValue =
  | TensorSource
  | number
  | bigint
  | string
  | boolean
  | null
  | readonly WritableValue[]
  | ReadonlyMap<WritableKey, WritableValue>
  | { readonly [key: string]: WritableValue };

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
    else this.container(value, path);
  }

  private container(value: readonly WritableValue[] | ReadonlyMap<WritableKey, WritableValue> | { readonly [key: string]: WritableValue }, path: string): void {
    if (this.open.has(value)) throw new Error(`cannot write ${path}: it contains itself`);
    this.open.add(value);
    const p = this.pickle;
    if (Array.isArray(value)) {
      p.emptyList();
      if (value.length > 0) {
        p.mark();
        value.forEach((item, i) => this.value(item, `${path}[${i}]`));
        p.appends();
      }
    } else {
      const entries: [WritableKey, WritableValue][] =
        value instanceof Map ? [...value] : Object.entries(value as { readonly [key: string]: WritableValue });
      if (value instanceof Map) p.global('collections', 'OrderedDict').emptyTuple().reduce();
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
    this.open.delete(value);
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
    this.tuple(source.shape);
    this.tuple(contiguousStride(source.shape));
    p.bool(false).global('collections', 'OrderedDict').emptyTuple().reduce();
    p.tuple().reduce();
  }

  private tuple(values: readonly number[]): void {
    if (values.length === 0) this.pickle.emptyTuple();
    else {
      this.pickle.mark();
      for (const v of values) this.pickle.int(v);
      this.pickle.tuple();
    }
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
