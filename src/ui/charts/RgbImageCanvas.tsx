import { useEffect, useRef } from 'react';
import type { RgbImage } from '../../data/image.ts';

interface RgbImageCanvasProps {
  image: RgbImage;
  /** Displayed side in CSS pixels (the canvas keeps the image's own pixels, scaled without smoothing). */
  size: number;
  label: string;
  testId?: string;
}

/** RGB bytes to RGBA ImageData. */
export function imageData(image: RgbImage): ImageData {
  const rgba = new Uint8ClampedArray(image.width * image.height * 4);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    rgba[p] = image.data[q]!;
    rgba[p + 1] = image.data[q + 1]!;
    rgba[p + 2] = image.data[q + 2]!;
    rgba[p + 3] = 255;
  }
  return new ImageData(rgba, image.width, image.height);
}

/** An RgbImage from the worker drawn on a canvas, pixels kept crisp when scaled up. */
export function RgbImageCanvas({ image, size, label, testId }: RgbImageCanvasProps) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    ref.current?.getContext('2d')?.putImageData(imageData(image), 0, 0);
  }, [image]);
  return (
    <canvas
      ref={ref}
      width={image.width}
      height={image.height}
      className="pixelated"
      style={{ width: size, height: size * (image.height / image.width) }}
      role="img"
      aria-label={label}
      data-testid={testId}
    />
  );
}
