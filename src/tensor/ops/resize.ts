/**
 * Bicubic resize (shaders/image.wgsl), as PyTorch's F.interpolate(mode='bicubic', align_corners=False), with a
 * deterministic backward: the positional embedding of the vision tower is resized for local crops and trained.
 */
import source from '../../../shaders/image.wgsl';
import { shader } from '../../gpu/kernel.ts';
import { grid1d } from '../../gpu/runtime.ts';
import { gpu } from '../engine.ts';
import { f32, params } from '../params.ts';
import { record } from '../tape.ts';
import { Tensor, shapeString } from '../tensor.ts';

const IMAGE = shader('image.wgsl', source);
const WG = 64;
const PLANES_PER_INVOCATION = 4;

export interface ResizeScales {
  /**
   * The scale_factor PyTorch was given for rows / columns. With one, output i samples source (i + 0.5) / scale
   * - 0.5, as PyTorch does when scale_factor is passed (COSMOS resizes its positional grid with (n + 0.1) / g);
   * without, (i + 0.5) * in / out - 0.5, as with size=.
   */
  scaleH?: number;
  scaleW?: number;
}

interface Geometry {
  planes: number;
  inH: number;
  inW: number;
  outH: number;
  outW: number;
  /** Source step per output step, rounded to f32 as PyTorch does. */
  stepH: number;
  stepW: number;
}

/**
 * grid [..., H, W] -> [..., outH, outW]: every H x W plane (channels of a positional grid, or of images)
 * resized on its own.
 */
export function bicubicResize(grid: Tensor, outH: number, outW: number, opts: ResizeScales = {}): Tensor {
  if (grid.shape.length < 2 || grid.dtype !== 'f32') {
    throw new Error(`bicubicResize: needs an f32 [..., H, W] grid, got ${shapeString(grid.shape)}`);
  }
  for (const [name, n] of [
    ['outH', outH],
    ['outW', outW],
  ] as const) {
    if (!Number.isInteger(n) || n < 1) throw new Error(`bicubicResize: ${name} must be a positive integer, got ${n}`);
  }
  const inH = grid.shape.at(-2)!;
  const inW = grid.shape.at(-1)!;
  if (grid.size === 0) throw new Error(`bicubicResize: empty grid ${shapeString(grid.shape)}`);
  const g: Geometry = {
    planes: grid.size / (inH * inW),
    inH,
    inW,
    outH,
    outW,
    stepH: step(inH, outH, opts.scaleH),
    stepW: step(inW, outW, opts.scaleW),
  };
  const out = new Tensor([...grid.shape.slice(0, -2), outH, outW]);
  run('bicubic', grid, out, g, outH * outW);
  return record('bicubicResize', [grid], out, (gradOut) => {
    const gradGrid = new Tensor(grid.shape);
    run('bicubic_backward', gradOut, gradGrid, g, inH * inW);
    return [gradGrid];
  });
}

function step(inSize: number, outSize: number, scale: number | undefined): number {
  if (scale === undefined) return inSize / outSize;
  if (!(scale > 0)) throw new Error(`bicubicResize: scale ${scale} must be positive`);
  return 1 / scale;
}

function run(entry: 'bicubic' | 'bicubic_backward', from: Tensor, to: Tensor, g: Geometry, pixels: number): void {
  gpu().dispatch({
    kernel: { shader: IMAGE, entry },
    buffers: [from.range, to.range],
    params: params(g.planes, g.inH, g.inW, g.outH, g.outW, f32(g.stepH), f32(g.stepW)),
    workgroups: grid1d(Math.ceil((pixels * Math.ceil(g.planes / PLANES_PER_INVOCATION)) / WG)),
  });
}
