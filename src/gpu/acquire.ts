import { WebGpuUnavailableError } from './errors.ts';

/** Features we use when the adapter has them; none is required. */
export const OPTIONAL_FEATURES = ['shader-f16', 'timestamp-query', 'subgroups'] as const;

/**
 * Limits raised to whatever the adapter offers. The defaults (128 MiB per storage binding, 256 MiB per buffer)
 * are far below what a released checkpoint's embedding tables and a training batch need.
 */
export const RAISED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxUniformBufferBindingSize',
] as const;

export type RaisedLimit = (typeof RAISED_LIMITS)[number];

export interface AdapterSummary {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  isFallbackAdapter: boolean;
  /** The fewest lanes a subgroup has here (SwiftShader 4, lavapipe 8); 0 where the adapter does not say. */
  subgroupMinSize: number;
  features: string[];
  limits: Record<RaisedLimit, number>;
}

export interface AcquiredDevice {
  adapter: GPUAdapter;
  device: GPUDevice;
  summary: AdapterSummary;
}

export const NO_WEBGPU_ADVICE =
  'Use a recent Chrome, Edge or another Chromium browser (version 113 or later) on a machine with a GPU; ' +
  'on Linux or a machine without a GPU, start Chromium with --enable-unsafe-webgpu. ' +
  'Safari 26 and Firefox 141 on Windows also support WebGPU.';

/** Whether the adapter is a fallback (software, CPU) one. Older implementations say so on the adapter, not its info. */
export function isFallback(adapter: GPUAdapter): boolean {
  return Boolean(
    (adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ??
      (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter,
  );
}

export async function acquireDevice(gpu: GPU | undefined, powerPreference: GPUPowerPreference = 'high-performance'): Promise<AcquiredDevice> {
  if (!gpu) throw new WebGpuUnavailableError(`This browser does not offer WebGPU. ${NO_WEBGPU_ADVICE}`);
  const adapter = await gpu.requestAdapter({ powerPreference });
  if (!adapter) {
    throw new WebGpuUnavailableError(`WebGPU is present but no GPU adapter was found. ${NO_WEBGPU_ADVICE}`);
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of RAISED_LIMITS) requiredLimits[name] = adapter.limits[name];
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits, label: 'cosmos-web' });
  const info = adapter.info;
  const summary: AdapterSummary = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description: info.description,
    isFallbackAdapter: isFallback(adapter),
    subgroupMinSize: (info as GPUAdapterInfo & { subgroupMinSize?: number }).subgroupMinSize ?? 0,
    features: [...device.features].sort(),
    limits: requiredLimits as Record<RaisedLimit, number>,
  };
  return { adapter, device, summary };
}
