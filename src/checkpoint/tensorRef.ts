/**
 * Tensors as handles: what a reader gives (TensorRef, lazy: its bytes are read when asked) and what a writer takes
 * (TensorSource: a shape and a way to get float32 values, e.g. a GPU read-back). A TensorRef is a TensorSource.
 */
import { ITEM_SIZE, toFloat32, type DType } from './dtypes.ts';

export interface TensorSource {
  readonly shape: readonly number[];
  read(): Promise<Float32Array>;
}

export interface TensorRef extends TensorSource {
  readonly dtype: DType;
  readonly stride: readonly number[];
  /** In elements of the storage, as PyTorch counts it. */
  readonly storageOffset: number;
  /** Tensors that share a storage (views, tied weights) have the same key. */
  readonly storageKey: string;
  readonly numel: number;
  /** The values, contiguous row-major, converted to float32 (fp16, bf16 and integer storages included). */
  read(): Promise<Float32Array>;
}

/** The bytes of one storage: a `data/<key>` entry of a .pt archive, or one tensor's range of a .safetensors file. */
export interface Storage {
  readonly key: string;
  readonly dtype: DType;
  /** Elements it holds. */
  readonly numel: number;
  /** Names the storage in error messages, e.g. "model.pt: archive/data/3". */
  readonly where: string;
  read(byteOffset: number, byteLength: number): Promise<Uint8Array>;
}

export const product = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

const isIndex = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;

export function isShape(v: unknown): v is readonly number[] {
  return Array.isArray(v) && v.every(isIndex);
}

export function contiguousStride(shape: readonly number[]): number[] {
  const stride = new Array<number>(shape.length);
  let s = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    stride[d] = s;
    s *= shape[d]!;
  }
  return stride;
}

/** Copies the strided elements of `span` (which starts at the tensor's first element) into row-major order. */
function gather(span: Float32Array, shape: readonly number[], stride: readonly number[], n: number): Float32Array {
  const out = new Float32Array(n);
  const index = new Array<number>(shape.length).fill(0);
  let src = 0;
  for (let i = 0; i < n; i++) {
    out[i] = span[src]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      index[d]!++;
      src += stride[d]!;
      if (index[d]! < shape[d]!) break;
      src -= stride[d]! * shape[d]!;
      index[d] = 0;
    }
  }
  return out;
}

/** More values than any GPU buffer holds as float32 (2 GiB): no model's tensor is larger. */
const MAX_TENSOR_VALUES = 2 ** 29;
/**
 * A view that repeats its storage's values (stride 0, overlapping strides) is read out in full: a few stored bytes
 * could otherwise ask for gigabytes. No model's parameter is such a view; small ones are read as torch would.
 */
const MAX_REPEATED_VALUES = 2 ** 24;

export class LazyTensor implements TensorRef {
  readonly dtype: DType;
  readonly storageKey: string;
  readonly numel: number;
  /** Elements of the storage from the first to the last one the tensor touches. */
  private readonly span: number;

  constructor(
    private readonly storage: Storage,
    readonly storageOffset: number,
    readonly shape: readonly number[],
    readonly stride: readonly number[],
  ) {
    if (!isIndex(storageOffset) || !isShape(shape) || !isShape(stride) || shape.length !== stride.length) {
      throw new Error(
        `${storage.where}: a tensor is rebuilt with a malformed layout (offset ${String(storageOffset)}, ` +
          `size ${JSON.stringify(shape)}, stride ${JSON.stringify(stride)})`,
      );
    }
    this.dtype = storage.dtype;
    this.storageKey = storage.key;
    this.numel = product(shape);
    this.span = this.numel === 0 ? 0 : 1 + shape.reduce((s, size, d) => s + (size - 1) * stride[d]!, 0);
    if (storageOffset + this.span > storage.numel) {
      throw new Error(
        `${storage.where} is shorter than its tensor needs: it holds ${storage.numel} ${storage.dtype} values, but a tensor ` +
          `of shape [${shape.join(', ')}] (stride [${stride.join(', ')}], offset ${storageOffset}) reaches value ${storageOffset + this.span}`,
      );
    }
    const layout = `${storage.where}: a tensor of shape [${shape.join(', ')}] (stride [${stride.join(', ')}])`;
    if (this.numel > this.span && this.numel > MAX_REPEATED_VALUES) {
      const stored = `${this.span} stored value${this.span === 1 ? '' : 's'}`;
      throw new Error(`${layout} repeats ${stored} into ${this.numel}; at most ${MAX_REPEATED_VALUES} repeated values are read`);
    }
    if (this.numel > MAX_TENSOR_VALUES) throw new Error(`${layout} has ${this.numel} values; at most ${MAX_TENSOR_VALUES} (2 GiB of float32) are read`);
    // A hostile pickle may try to BUILD state into a tensor: frozen, it cannot.
    Object.freeze(this);
  }

  get isContiguous(): boolean {
    const expected = contiguousStride(this.shape);
    return this.shape.every((size, d) => size === 1 || this.stride[d] === expected[d]);
  }

  async read(): Promise<Float32Array> {
    if (this.numel === 0) return new Float32Array(0);
    const size = ITEM_SIZE[this.dtype];
    const values = toFloat32(await this.storage.read(this.storageOffset * size, this.span * size), this.dtype);
    return this.isContiguous ? values : gather(values, this.shape, this.stride, this.numel);
  }
}

/** A writer's view of a source's values: checked against its shape, as little-endian float32 bytes. */
export async function float32Bytes(source: TensorSource, label: string): Promise<Uint8Array> {
  const values = await source.read();
  if (!(values instanceof Float32Array)) throw new Error(`tensor ${label}: read() must give a Float32Array`);
  const n = product(source.shape);
  if (values.length !== n) {
    throw new Error(`tensor ${label}: read() gave ${values.length} values for shape [${source.shape.join(', ')}] (${n} values)`);
  }
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

export function isTensorRef(value: unknown): value is TensorRef {
  return value instanceof LazyTensor;
}
