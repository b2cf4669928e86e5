/** A WGSL file from shaders/, imported as text, with the name errors are reported under. */
export interface ShaderSource {
  readonly name: string;
  readonly code: string;
}

/** One compute entry point of a shader, with values for its `override` constants. */
export interface Kernel {
  readonly shader: ShaderSource;
  readonly entry: string;
  readonly constants?: Readonly<Record<string, number>>;
}

export const shader = (name: string, code: string): ShaderSource => ({ name, code });

export const kernelName = (k: Kernel): string => `${k.shader.name}:${k.entry}`;

export function pipelineKey(k: Kernel): string {
  const constants = k.constants
    ? Object.entries(k.constants)
        .map(([n, v]) => `${n}=${v}`)
        .join(',')
    : '';
  return `${k.shader.name}|${k.entry}|${constants}`;
}
