import { engine, gpu } from './engine.ts';
import type { TapeNode } from './tape.ts';

export type Shape = readonly number[];
export type DType = 'f32' | 'i32';

export const numel = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);

export const shapeString = (shape: Shape): string => `[${shape.join(', ')}]`;

/**
 * A dense, contiguous, row-major array on the GPU. Every tensor is owned: by the innermost open scope
 * (which disposes it when the scope closes, unless it is returned or kept), or by the caller when created
 * outside any scope or marked with `keep()` (parameters, optimizer state, gradients).
 */
export class Tensor {
  readonly size: number;
  requiresGrad = false;
  /** Accumulated gradient of a tensor that requires it; owned by the tensor. */
  grad: Tensor | null = null;
  /** The op that made this tensor, while the tape still holds it. */
  node: TapeNode | null = null;
  private storage: Storage | null;

  /** A new tensor with its own storage, or a view sharing `shareWith`'s storage (same element count). */
  constructor(
    readonly shape: Shape,
    readonly dtype: DType = 'f32',
    shareWith?: Tensor,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`Invalid tensor shape ${shapeString(shape)}`);
    }
    this.size = numel(shape);
    if (shareWith) {
      if (shareWith.size !== this.size) {
        throw new Error(`Cannot view ${shapeString(shareWith.shape)} as ${shapeString(shape)}: element counts differ`);
      }
      this.storage = shareWith.liveStorage();
      this.storage.refs++;
    } else {
      this.storage = { buffer: gpu().alloc(this.size * 4), refs: 1 };
    }
    engine.scopes.at(-1)?.tensors.push(this);
  }

  get buffer(): GPUBuffer {
    return this.liveStorage().buffer;
  }

  get byteSize(): number {
    return this.size * 4;
  }

  /** Whether another live tensor (a reshaped view) shares this one's storage. */
  get sharesStorage(): boolean {
    return this.liveStorage().refs > 1;
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

  /** Removes the tensor from its scope: the caller now owns it. */
  keep(): this {
    for (const scope of engine.scopes) {
      const i = scope.tensors.lastIndexOf(this);
      if (i >= 0) scope.tensors.splice(i, 1);
    }
    return this;
  }

  async read(): Promise<Float32Array | Int32Array> {
    const bytes = await gpu().read(this.buffer, this.byteSize);
    return this.dtype === 'i32' ? new Int32Array(bytes) : new Float32Array(bytes);
  }

  async readFloat(): Promise<Float32Array> {
    if (this.dtype !== 'f32') throw new Error(`readFloat on an ${this.dtype} tensor`);
    return new Float32Array(await gpu().read(this.buffer, this.byteSize));
  }

  toString(): string {
    return `Tensor(${shapeString(this.shape)}, ${this.dtype})`;
  }

  private liveStorage(): Storage {
    if (!this.storage) throw new Error(`${this.toString()} was used after it was disposed`);
    return this.storage;
  }
}

/** A pooled GPU buffer shared by a tensor and its reshaped views; released when the last one is disposed. */
interface Storage {
  readonly buffer: GPUBuffer;
  refs: number;
}

export function fromArray(data: ArrayLike<number>, shape: Shape, dtype: DType = 'f32'): Tensor {
  if (data.length !== numel(shape)) {
    throw new Error(`fromArray: ${data.length} values do not fill shape ${shapeString(shape)}`);
  }
  const t = new Tensor(shape, dtype);
  const host = dtype === 'i32' ? Int32Array.from(data) : Float32Array.from(data);
  gpu().write(t.buffer, host);
  return t;
}

export function zeros(shape: Shape, dtype: DType = 'f32'): Tensor {
  const t = new Tensor(shape, dtype);
  gpu().fill0(t.buffer, 0, Math.ceil(t.byteSize / 4) * 4);
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
