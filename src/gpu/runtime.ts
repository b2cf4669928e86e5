import { type AcquiredDevice, type AdapterSummary, acquireDevice } from './acquire.ts';
import { BufferPool, type PoolStats } from './bufferPool.ts';
import { GpuDeviceLostError, GpuKernelError, GpuOutOfMemoryError } from './errors.ts';
import { formatBytes } from '../format.ts';
import { type Kernel, kernelName } from './kernel.ts';
import { type KernelChoice, assumedChoice } from './kernelChoice.ts';
import { PipelineCache } from './pipelineCache.ts';

/** A byte range of a GPU buffer: a tensor's values (a whole pooled buffer, or a view into a flat arena). */
export interface BufferRange {
  readonly buffer: GPUBuffer;
  readonly offset: number;
  /** Bytes bound; a multiple of 4 and at least 16, so that a vec4 kernel's last lanes lie inside. */
  readonly size: number;
}

/** A whole buffer, or a range of one. */
export type BufferTarget = GPUBuffer | BufferRange;

const rangeOf = (target: BufferTarget): BufferRange => ('offset' in target ? target : { buffer: target, offset: 0, size: target.size });

export interface DispatchArgs {
  kernel: Kernel;
  /** Storage buffers or ranges, bound at @binding(1), @binding(2), ... in this order. */
  buffers: readonly BufferTarget[];
  /** Small uniform block bound at @binding(0): shapes, strides, scalars. */
  params?: ArrayBufferView;
  /** Workgroup counts; see `grid1d` for sizes past the per-dimension limit. */
  workgroups: readonly [number, number?, number?];
}

export interface MemoryStats extends PoolStats {
  pipelines: number;
  uniformBuffers: number;
}

/** Work sent to the GPU since the runtime was created; a benchmark reads the difference across a step. */
export interface CommandStats {
  /** Compute dispatches recorded (empty ones, which are skipped, do not count). */
  dispatches: number;
  /** Command buffers submitted to the queue. */
  submits: number;
}

/** Dispatches recorded into one command buffer before it is submitted. */
const MAX_DISPATCHES_PER_SUBMIT = 256;
/** Distinct uniform blocks kept alive; training reuses the same few hundred every step. */
const MAX_CACHED_UNIFORMS = 4096;

/**
 * The one place that talks to WebGPU. Work is recorded into a command encoder and submitted in batches;
 * each batch runs inside validation and out-of-memory error scopes, whose findings are thrown, named after
 * the kernels of that batch, at the next point that waits for the GPU (`read`, `sync`).
 */
export class GpuRuntime {
  readonly device: GPUDevice;
  readonly adapter: AdapterSummary;
  /** The family of kernels the ops dispatch here: assumed from the adapter, replaced by tuneKernels' measurement. */
  kernels: KernelChoice;
  private readonly storage: BufferPool;
  private readonly staging: BufferPool;
  private readonly pipelines: PipelineCache;
  private readonly uniforms = new Map<string, GPUBuffer>();

  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private dispatchesInBatch = 0;
  private readonly commandCounts: CommandStats = { dispatches: 0, submits: 0 };
  private readonly kernelsInBatch = new Set<string>();
  private scopeChecks: Promise<void>[] = [];
  private pendingError: Error | null = null;
  private lostError: GpuDeviceLostError | null = null;
  private readonly lostListeners = new Set<(error: GpuDeviceLostError) => void>();

  static async create(gpu: GPU | undefined, powerPreference?: GPUPowerPreference): Promise<GpuRuntime> {
    return new GpuRuntime(await acquireDevice(gpu, powerPreference));
  }

  constructor({ device, summary }: AcquiredDevice) {
    this.device = device;
    this.adapter = summary;
    this.kernels = assumedChoice(summary);
    const storageUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.storage = new BufferPool(device, storageUsage, 'storage');
    this.staging = new BufferPool(device, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST, 'staging');
    // A WGSL compile message says more than the "invalid pipeline" validation error it causes: it wins.
    this.pipelines = new PipelineCache(
      device,
      (e) => (this.pendingError = e),
      (check) => this.scopeChecks.push(check),
    );
    device.addEventListener('uncapturederror', (event) => {
      this.recordError(new GpuKernelError([], (event as GPUUncapturedErrorEvent).error.message));
    });
    void device.lost.then((info) => {
      this.lostError = new GpuDeviceLostError(info.reason, info.message);
      for (const listener of this.lostListeners) listener(this.lostError);
    });
  }

  get limits(): AdapterSummary['limits'] {
    return this.adapter.limits;
  }

  /** Called once if the device is lost (driver reset, GPU removed, `destroy`). */
  onLost(listener: (error: GpuDeviceLostError) => void): () => void {
    this.lostListeners.add(listener);
    return () => this.lostListeners.delete(listener);
  }

  get isLost(): boolean {
    return this.lostError !== null;
  }

  /** The largest buffer a kernel can bind whole on this adapter. */
  get maxBindingBytes(): number {
    return Math.min(this.limits.maxBufferSize, this.limits.maxStorageBufferBindingSize);
  }

  /** A storage buffer of at least `byteSize` bytes from the pool; give it back with `release`. */
  alloc(byteSize: number): GPUBuffer {
    this.assertUsable();
    const max = this.maxBindingBytes;
    if (byteSize > max) {
      throw new GpuOutOfMemoryError(
        `A tensor of ${formatBytes(byteSize)} does not fit in one buffer on this GPU adapter (limit ${formatBytes(max)}). ` +
          'Use a smaller model or batch, or a device with larger buffer limits.',
      );
    }
    this.openBatch();
    return this.storage.acquire(Math.max(byteSize, 4), max);
  }

  release(buffer: GPUBuffer): void {
    this.storage.release(buffer);
  }

  /** Copies host data into `target` at `byteOffset`, after all work recorded so far. */
  write(target: BufferTarget, data: ArrayBufferView, byteOffset = 0): void {
    this.assertUsable();
    const { buffer, offset } = rangeOf(target);
    // queue.writeBuffer runs ahead of commands still sitting in the open encoder: submit them first.
    if (this.dispatchesInBatch > 0 || this.encoder) this.flush();
    this.device.queue.writeBuffer(buffer, offset + byteOffset, data.buffer, data.byteOffset, data.byteLength);
  }

  dispatch({ kernel, buffers, params, workgroups }: DispatchArgs): void {
    this.assertUsable();
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const { pipeline, layout } = this.pipelines.pipeline(kernel);
    const entries: GPUBindGroupEntry[] = buffers.map((target, i) => ({ binding: i + 1, resource: rangeOf(target) }));
    if (params) entries.push({ binding: 0, resource: { buffer: this.uniform(params) } });
    const bindGroup = this.device.createBindGroup({ layout, entries });
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.kernelsInBatch.add(kernelName(kernel));
    this.commandCounts.dispatches++;
    if (++this.dispatchesInBatch >= MAX_DISPATCHES_PER_SUBMIT) this.flush();
  }

  /** Copies `byteSize` bytes from `src` at `srcOffset` to `dst` at `dstOffset` (offsets within the ranges). */
  copy(src: BufferTarget, srcOffset: number, dst: BufferTarget, dstOffset: number, byteSize: number): void {
    this.assertUsable();
    const [from, to] = [rangeOf(src), rangeOf(dst)];
    this.commandEncoder().copyBufferToBuffer(from.buffer, from.offset + srcOffset, to.buffer, to.offset + dstOffset, byteSize);
  }

  /** Zeroes `byteSize` bytes (default: to the end of the range) from `byteOffset` within `target`. */
  fill0(target: BufferTarget, byteOffset = 0, byteSize?: number): void {
    this.assertUsable();
    const { buffer, offset, size } = rangeOf(target);
    this.commandEncoder().clearBuffer(buffer, offset + byteOffset, byteSize ?? size - byteOffset);
  }

  /** Reads `byteLength` bytes of `source` from `byteOffset` back to the host, after all work recorded so far. */
  async read(source: BufferTarget, byteLength: number, byteOffset = 0): Promise<ArrayBuffer> {
    this.assertUsable();
    const { buffer, offset } = rangeOf(source);
    const staging = this.staging.acquire(byteLength);
    this.commandEncoder().copyBufferToBuffer(buffer, offset + byteOffset, staging, 0, byteLength);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, byteLength);
    } catch (cause) {
      this.staging.release(staging);
      await this.throwPendingErrors();
      throw cause;
    }
    const copy = staging.getMappedRange(0, byteLength).slice(0);
    staging.unmap();
    this.staging.release(staging);
    await this.throwPendingErrors();
    return copy;
  }

  /** Submits what is recorded and waits until the GPU has run it; throws errors found meanwhile. */
  async sync(): Promise<void> {
    this.assertUsable();
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.throwPendingErrors();
  }

  /** Submits the recorded commands and closes the batch's error scopes. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    this.device.queue.submit([this.encoder.finish()]);
    this.commandCounts.submits++;
    this.encoder = null;
    const kernels = [...this.kernelsInBatch];
    this.kernelsInBatch.clear();
    this.dispatchesInBatch = 0;
    const validation = this.device.popErrorScope();
    const outOfMemory = this.device.popErrorScope();
    this.scopeChecks.push(
      Promise.all([validation, outOfMemory]).then(([v, o]) => {
        if (o) this.recordError(new GpuOutOfMemoryError(`The GPU ran out of memory: ${o.message}. Use a smaller model or batch.`));
        if (v) this.recordError(new GpuKernelError(kernels, v.message));
      }),
    );
    if (this.uniforms.size > MAX_CACHED_UNIFORMS) this.evictUniforms();
  }

  memory(): MemoryStats {
    return { ...this.storage.stats(), pipelines: this.pipelines.size, uniformBuffers: this.uniforms.size };
  }

  commands(): CommandStats {
    return { ...this.commandCounts };
  }

  /** Returns free pooled buffers to the driver. */
  trim(): void {
    this.flush();
    this.storage.trim();
    this.staging.trim();
  }

  destroy(): void {
    this.flush();
    this.device.destroy();
  }

  private openBatch(): void {
    if (this.encoder) return;
    // Popped in reverse order in flush(): validation first, then out-of-memory.
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.encoder = this.device.createCommandEncoder();
  }

  private commandEncoder(): GPUCommandEncoder {
    this.openBatch();
    this.pass?.end();
    this.pass = null;
    return this.encoder!;
  }

  private computePass(): GPUComputePassEncoder {
    this.openBatch();
    this.pass ??= this.encoder!.beginComputePass();
    return this.pass;
  }

  private uniform(params: ArrayBufferView): GPUBuffer {
    const words = new Uint32Array(params.buffer, params.byteOffset, params.byteLength >> 2);
    const key = words.join(',');
    let buffer = this.uniforms.get(key);
    if (buffer) {
      this.uniforms.delete(key); // re-insert: the map's order is least recently used first
    } else {
      const size = Math.max(16, Math.ceil(params.byteLength / 16) * 16);
      buffer = this.device.createBuffer({ size, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
      new Uint8Array(buffer.getMappedRange()).set(new Uint8Array(params.buffer, params.byteOffset, params.byteLength));
      buffer.unmap();
    }
    this.uniforms.set(key, buffer);
    return buffer;
  }

  private evictUniforms(): void {
    for (const [key, buffer] of this.uniforms) {
      if (this.uniforms.size <= MAX_CACHED_UNIFORMS / 2) break;
      this.uniforms.delete(key);
      buffer.destroy(); // safe: called right after a submit, and nothing recorded since uses it
    }
  }

  private recordError(error: Error): void {
    this.pendingError ??= error;
  }

  private async throwPendingErrors(): Promise<void> {
    const checks = this.scopeChecks;
    this.scopeChecks = [];
    await Promise.all(checks);
    if (this.lostError) throw this.lostError;
    const error = this.pendingError;
    this.pendingError = null;
    if (error) throw error;
  }

  private assertUsable(): void {
    if (this.lostError) throw this.lostError;
  }
}

/** Splits a 1-D workgroup count over x and y so that neither passes the per-dimension limit of 65535. */
export function grid1d(workgroups: number): [number, number] {
  if (workgroups <= 65535) return [workgroups, 1];
  const y = Math.ceil(workgroups / 65535);
  return [Math.ceil(workgroups / y), y];
}
