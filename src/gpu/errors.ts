/** Errors a user can meet, each worded as what happened and what to do. */

export class WebGpuUnavailableError extends Error {
  override name = 'WebGpuUnavailableError';
}

export class GpuDeviceLostError extends Error {
  override name = 'GpuDeviceLostError';
  constructor(
    readonly reason: string,
    detail: string,
  ) {
    super(
      `The GPU device was lost (${reason}${detail ? `: ${detail}` : ''}). ` +
        'Work saved to storage is safe; reload the page (or restart the command) to get a new device.',
    );
  }
}

/** A WGSL compile error or a validation error, named after the kernels that were running. */
export class GpuKernelError extends Error {
  override name = 'GpuKernelError';
  constructor(
    readonly kernels: string[],
    detail: string,
  ) {
    super(`GPU error in ${kernels.length ? kernels.join(', ') : 'a GPU call'}: ${detail}`);
  }
}

export class GpuOutOfMemoryError extends Error {
  override name = 'GpuOutOfMemoryError';
}
