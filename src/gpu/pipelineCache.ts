import { GpuKernelError } from './errors.ts';
import { type Kernel, type ShaderSource, kernelName, pipelineKey } from './kernel.ts';

/** A compiled kernel and the layout of its one bind group, which every dispatch's bind group is made for. */
export interface CompiledKernel {
  readonly pipeline: GPUComputePipeline;
  /** Asked of the pipeline once: each getBindGroupLayout() call makes a new object (a native call per dispatch). */
  readonly layout: GPUBindGroupLayout;
}

/** Compiles each shader module once and each (entry point, constants) pipeline once, for the device's life. */
export class PipelineCache {
  private readonly modules = new Map<ShaderSource, GPUShaderModule>();
  private readonly pipelines = new Map<string, CompiledKernel>();

  constructor(
    private readonly device: GPUDevice,
    /** Receives WGSL compile errors, which Dawn and browsers report asynchronously. */
    private readonly onError: (error: Error) => void,
    /** Receives the pending compile check, so the runtime can wait for it before it reports errors. */
    private readonly track: (check: Promise<void>) => void,
  ) {}

  get size(): number {
    return this.pipelines.size;
  }

  pipeline(k: Kernel): CompiledKernel {
    const key = pipelineKey(k);
    let compiled = this.pipelines.get(key);
    if (!compiled) {
      const pipeline = this.device.createComputePipeline({
        label: kernelName(k),
        layout: 'auto',
        compute: { module: this.module(k.shader), entryPoint: k.entry, constants: k.constants },
      });
      compiled = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.pipelines.set(key, compiled);
    }
    return compiled;
  }

  private module(source: ShaderSource): GPUShaderModule {
    let module = this.modules.get(source);
    if (!module) {
      module = this.device.createShaderModule({ label: source.name, code: source.code });
      this.modules.set(source, module);
      this.track(
        module.getCompilationInfo().then((info) => {
          const errors = info.messages.filter((m) => m.type === 'error');
          if (errors.length === 0) return;
          const text = errors.map((m) => `${source.name}:${m.lineNum}:${m.linePos}: ${m.message}`).join('\n');
          this.onError(new GpuKernelError([source.name], `WGSL does not compile:\n${text}`));
        }),
      );
    }
    return module;
  }
}
