/**
 * Drawing the maps on 2D canvases (browser only): the picture, then the coloured map composited over it.
 * Shared by the panels' canvases and the exported figure, so what is exported is what is shown.
 */
import type { RgbImage } from '../../data/image.ts';
import { type Overlay, heatmapRgba, labelRgba, matrixRgba, rgbToRgba } from './raster.ts';

type Context2D = CanvasRenderingContext2D | OffscreenCanvasRenderingContext2D;

/** A canvas holding these RGBA pixels at their own size, to be drawn scaled. */
function pixelsCanvas(rgba: Uint8ClampedArray, width: number, height: number): OffscreenCanvas {
  const canvas = new OffscreenCanvas(width, height);
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser gives no 2D canvas: the maps cannot be drawn.');
  context.putImageData(new ImageData(new Uint8ClampedArray(rgba), width, height), 0, 0);
  return canvas;
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The picture, scaled smoothly into the box. */
export function drawPicture(context: Context2D, image: RgbImage, box: Box): void {
  context.imageSmoothingEnabled = true;
  context.imageSmoothingQuality = 'high';
  context.drawImage(pixelsCanvas(rgbToRgba(image.data), image.width, image.height), box.x, box.y, box.width, box.height);
}

/** A normalized patch map over the box, upsampled at the box's own resolution (see heatmapRgba). */
export function drawHeatmap(context: Context2D, values: Float32Array, grid: readonly [number, number], box: Box, overlay: Overlay): void {
  const width = Math.max(1, Math.round(box.width));
  const height = Math.max(1, Math.round(box.height));
  context.drawImage(pixelsCanvas(heatmapRgba(values, grid, width, height, overlay), width, height), box.x, box.y, width, height);
}

/** A per-pixel class map over the box (background transparent). */
export function drawLabels(context: Context2D, labels: Int16Array, size: { width: number; height: number }, box: Box, overlay: Overlay): void {
  context.imageSmoothingEnabled = false;
  context.drawImage(pixelsCanvas(labelRgba(labels, overlay), size.width, size.height), box.x, box.y, box.width, box.height);
}

/** A normalized [rows, cols] matrix, one crisp block per cell. */
export function drawMatrix(context: Context2D, values: Float32Array, rows: number, cols: number, box: Box): void {
  context.imageSmoothingEnabled = false;
  context.drawImage(pixelsCanvas(matrixRgba(values), cols, rows), box.x, box.y, box.width, box.height);
}

/** Sizes a canvas's backing store for `cssWidth` x `cssHeight` at the screen's pixel density; returns its context. */
export function prepareCanvas(canvas: HTMLCanvasElement, cssWidth: number, cssHeight: number): CanvasRenderingContext2D {
  const ratio = Math.min(2, Math.max(1, globalThis.devicePixelRatio || 1));
  canvas.width = Math.round(cssWidth * ratio);
  canvas.height = Math.round(cssHeight * ratio);
  canvas.style.width = `${cssWidth}px`;
  canvas.style.height = `${cssHeight}px`;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser gives no 2D canvas: the maps cannot be drawn.');
  context.clearRect(0, 0, canvas.width, canvas.height);
  return context;
}

/** Triggers a download of the blob under the name. */
export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
