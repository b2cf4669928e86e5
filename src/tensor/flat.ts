/**
 * Flat buffers: many tensors in one GPU buffer, each at its own aligned byte offset (a slot), so that one dispatch
 * can update all of them. The optimizer keeps parameters, gradients, both moments and the EMA teacher in flat
 * buffers of one layout: AdamW and the teacher EMA of every parameter are then one dispatch per chunk, where torch
 * (and our engine before) ran one per parameter. A tensor in a slot binds its own range (Tensor.range); a kernel
 * over the whole buffer binds a chunk.
 */
import type { BufferRange } from '../gpu/runtime.ts';
import { gpu } from './engine.ts';
import { type DType, type Shape, type Storage, Tensor } from './tensor.ts';

/**
 * Slot alignment in bytes: the largest minStorageBufferOffsetAlignment WebGPU allows, so every adapter can bind a
 * slot; a slot ends on the next multiple, which leaves room for the padding lanes of a vec4 kernel's last vec4.
 */
export const SLOT_BYTES = 256;

export interface FlatSlot {
  readonly chunk: number;
  readonly byteOffset: number;
}

/** Where each tensor of a list lies: consecutive slots, in chunks no larger than one binding allows. */
export interface FlatLayout {
  readonly chunkBytes: readonly number[];
  readonly slots: readonly FlatSlot[];
}

const slotBytes = (size: number): number => Math.max(1, Math.ceil((size * 4) / SLOT_BYTES)) * SLOT_BYTES;

/** Lays tensors of `sizes` elements out in order, starting a new chunk where the next would pass `maxChunkBytes`. */
export function flatLayout(sizes: readonly number[], maxChunkBytes: number): FlatLayout {
  const chunkBytes: number[] = [];
  const slots: FlatSlot[] = [];
  for (const size of sizes) {
    const bytes = slotBytes(size);
    if (bytes > maxChunkBytes) throw new Error(`flatLayout: a tensor of ${size} elements does not fit in a chunk of ${maxChunkBytes} bytes`);
    if (!chunkBytes.length || chunkBytes.at(-1)! + bytes > maxChunkBytes) chunkBytes.push(0);
    slots.push({ chunk: chunkBytes.length - 1, byteOffset: chunkBytes.at(-1)! });
    chunkBytes[chunkBytes.length - 1]! += bytes;
  }
  return { chunkBytes, slots };
}

/** The layout of `sizes` in chunks as large as one binding on this adapter allows. */
export function adapterLayout(sizes: readonly number[]): FlatLayout {
  return flatLayout(sizes, Math.floor(gpu().maxBindingBytes / SLOT_BYTES) * SLOT_BYTES);
}

/**
 * One set of buffers of a layout (the parameters, their gradients, one moment), zeroed when made. The buffers go
 * back to the pool once this set and every tensor viewing it are disposed.
 */
export class FlatBuffers {
  private readonly storages: Storage[];
  private disposed = false;

  constructor(readonly layout: FlatLayout) {
    this.storages = layout.chunkBytes.map((bytes) => {
      const buffer = gpu().alloc(bytes);
      gpu().fill0(buffer, 0, bytes);
      return { buffer, refs: 1, flat: true };
    });
  }

  /** Chunk `c` whole, as a kernel over all its slots binds it. */
  chunk(c: number): BufferRange {
    return { buffer: this.storage(c).buffer, offset: 0, size: this.layout.chunkBytes[c]! };
  }

  /** A new tensor (kept, not in any scope) viewing slot `i`. */
  view(i: number, shape: Shape, dtype: DType = 'f32'): Tensor {
    const slot = this.slot(i, shape);
    return new Tensor(shape, dtype, { storage: this.storage(slot.chunk), byteOffset: slot.byteOffset }).keep();
  }

  /** A new tensor (kept, not in any scope) viewing chunk `c` whole, padding between slots included, as floats. */
  chunkView(c: number): Tensor {
    return new Tensor([this.layout.chunkBytes[c]! / 4], 'f32', { storage: this.storage(c), byteOffset: 0 }).keep();
  }

  /** Moves `t`'s values into slot `i`: from now on `t` is a view there (see Tensor.relocate). */
  adopt(i: number, t: Tensor): void {
    const slot = this.slot(i, t.shape);
    t.relocate(this.storage(slot.chunk), slot.byteOffset);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const storage of this.storages) if (--storage.refs === 0) gpu().release(storage.buffer);
  }

  private storage(c: number): Storage {
    if (this.disposed) throw new Error('FlatBuffers used after dispose');
    return this.storages[c]!;
  }

  private slot(i: number, shape: Shape): FlatSlot {
    const slot = this.layout.slots[i];
    if (!slot) throw new Error(`FlatBuffers: no slot ${i} (the layout has ${this.layout.slots.length})`);
    const next = this.layout.slots[i + 1];
    const end = next?.chunk === slot.chunk ? next.byteOffset : this.layout.chunkBytes[slot.chunk]!;
    const bytes = shape.reduce((a, b) => a * b, 1) * 4;
    if (bytes > end - slot.byteOffset) throw new Error(`FlatBuffers: ${bytes} bytes do not fit in slot ${i} (${end - slot.byteOffset} bytes)`);
    return slot;
  }
}
