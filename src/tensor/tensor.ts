import { engine, gpu } from './engine.ts';
import type { BufferRange } from '../gpu/runtime.ts';
import type { TapeNode } from './tape.ts';

export type Shape = readonly number[];
export type DType = 'f32' | 'i32';

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const shapeString = (shape: Shape): string => `[${shape.join(', ')}]`;

/**
 * A dense, contiguous, row-major array on the GPU. Every tensor is owned: by the innermost open scope
 * (which disposes it when the scope closes, unless it is returned or kept), or by the caller when created
 * outside any scope or marked with `keep()` (parameters, optimizer state, gradients).
 * Its values lie in a pooled buffer of its own, or at a byte offset in a flat buffer that holds many tensors
 * (src/tensor/flat.ts: parameters, gradients and optimizer moments, so that one dispatch updates them all).
 */
export class Tensor {
  readonly size: number;
  requiresGrad = false;
  /** Accumulated gradient of a tensor that requires it; owned by the tensor. */
  grad: Tensor | null = null;
  /**
   * Where backward() puts this leaf's gradient: a view into the optimizer's flat gradient buffer, which `.grad`
   * then is; null to give the gradient a buffer of its own.
   */
  gradSlot: Tensor | null = null;
  /** The op that made this tensor, while the tape still holds it. */
  node: TapeNode | null = null;
  private storage: Storage | null;
  private byteOffset: number;

  /**
   * A new tensor with its own storage, a view sharing `shareWith`'s storage (same element count), or a view at
   * `byteOffset` into a flat buffer's storage.
   */
  constructor(
    readonly shape: Shape,
    readonly dtype: DType = 'f32',
    shareWith?: Tensor | { storage: Storage; byteOffset: number },
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`Invalid tensor shape ${shapeString(shape)}`);
    }
    this.size = numel(shape);
    if (shareWith instanceof Tensor) {
      if (shareWith.size !== this.size) {
        throw new Error(`Cannot view ${shapeString(shareWith.shape)} as ${shapeString(shape)}: element counts differ`);
      }
      this.storage = shareWith.liveStorage();
      this.byteOffset = shareWith.byteOffset;
    } else if (shareWith) {
      this.storage = shareWith.storage;
      this.byteOffset = shareWith.byteOffset;
    } else {
      this.storage = { buffer: gpu().alloc(this.size * 4), refs: 0, flat: false };
      this.byteOffset = 0;
    }
    this.storage.refs++;
    engine.scopes.at(-1)?.tensors.push(this);
  }

  /**
   * The bytes kernels bind: the whole pooled buffer, or the tensor's own range of a flat buffer (whole vec4s, so
   * that vec4 kernels may touch the last one's padding lanes, which the flat layout reserves).
   */
  get range(): BufferRange {
    const { buffer, flat } = this.liveStorage();
    if (!flat) return { buffer, offset: 0, size: buffer.size };
    return { buffer, offset: this.byteOffset, size: Math.max(16, Math.ceil(this.byteSize / 16) * 16) };
  }

  get byteSize(): number {
    return this.size * 4;
  }

  /** Whether another live tensor (a reshaped view, a flat buffer's other tensors) shares this one's storage. */
  get sharesStorage(): boolean {
    return this.liveStorage().refs > 1;
  }

  /** Whether this tensor and `other` are the same bytes of the same buffer (one may be a reshape of the other). */
  sameRange(other: Tensor): boolean {
    return this.liveStorage() === other.liveStorage() && this.byteOffset === other.byteOffset;
  }

  get isDisposed(): boolean {
    return this.storage === null;
  }

  dispose(): void {
    if (!this.storage) return;
    if (--this.storage.refs === 0) gpu().release(this.storage.buffer);
    this.storage = null;
    this.grad?.dispose();
    this.grad = null;
  }

  /**
   * Moves the values into `storage` at `byteOffset` (a slot of a flat buffer) and makes this tensor a view there;
   * objects that hold the tensor keep working. Its own buffer is freed; a tensor already in a flat buffer (of an
   * earlier optimizer) drops its share of it. Refused for a tensor whose own buffer another tensor views.
   */
  relocate(storage: Storage, byteOffset: number): void {
    const old = this.liveStorage();
    if (!old.flat && old.refs > 1) throw new Error(`${this.toString()} cannot move into a flat buffer while a view shares its storage`);
    const from = this.range;
    storage.refs++;
    this.storage = storage;
    this.byteOffset = byteOffset;
    gpu().copy(from, 0, this.range, 0, this.byteSize);
    // Released after the copy is recorded: the queue runs it before any later use of the buffer.
    if (--old.refs === 0) gpu().release(old.buffer);
  }

  /** Removes the tensor from its scope: the caller now owns it. */
  keep(): this {
    for (const scope of engine.scopes) {
      const i = scope.tensors.lastIndexOf(this);
      if (i >= 0) scope.tensors.splice(i, 1);
    }
    return this;
  }

  async read(): Promise<Float32Array | Int32Array> {
    const bytes = await gpu().read(this.range, this.byteSize);
    return this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  async readFloat(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`readFloat on an ${this.dtype} tensor`);
    return new Float32Array(await gpu().read(this.range, this.byteSize));
  }

  toString(): string {
    return `Tensor(${shapeString(this.shape)}, ${this.dtype})`;
  }

  private liveStorage(): Storage {
    if (!this.storage) throw new Error(`${this.toString()} was used after it was disposed`);
    return this.storage;
  }
}

/**
 * A GPU buffer shared by a tensor and its reshaped views, or by the tensors of a flat buffer; released when the
 * last one is disposed.
 */
export interface Storage {
  readonly buffer: GPUBuffer;
  refs: number;
  /** A flat buffer's: its tensors bind their own ranges of it, not the whole buffer. */
  readonly flat: boolean;
}

export function fromArray(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32'): Tensor {
  if (data.length !== numel(shape)) {
    throw new Error(`fromArray: ${data.length} values do not fill shape ${shapeString(shape)}`);
  }
  const t = new Tensor(shape, dtype);
  const host = dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data);
  gpu().write(t.range, host);
  return t;
}

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  const t = new Tensor(shape, dtype);
  gpu().fill0(t.range, 0, t.byteSize);
  return t;
}

/** A trainable parameter: kept (not owned by any scope) and requiring grad. */
export function parameter(data: ArrayLike<number>, shape: Shape): Tensor {
  const t = fromArray(data, shape).keep();
  t.requiresGrad = true;
  return t;
}

export function assertShape(t: Tensor, shape: Shape, what: string): void {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new Error(`${what}: expected shape ${shapeString(shape)}, got ${shapeString(t.shape)}`);
  }
}
