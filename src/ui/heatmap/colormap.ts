/**
 * Colours of the maps. Weights use d3's Turbo (a perceptually smoothed jet, the look of attention figures in
 * papers, with more distinct steps than a single-hue ramp); classes use a categorical palette.
 * Looked up from 256-entry tables: hundreds of thousands of pixels are coloured per redraw.
 */
import { interpolateTurbo, rgb, schemeTableau10 } from 'd3';

export type Rgb = readonly [number, number, number];

const LEVELS = 256;

function table(interpolate: (t: number) => string): Uint8Array {
  const out = new Uint8Array(LEVELS * 3);
  for (let i = 0; i < LEVELS; i++) {
    const c = rgb(interpolate(i / (LEVELS - 1)));
    out.set([c.r, c.g, c.b], i * 3);
  }
  return out;
}

const HEAT = table(interpolateTurbo);

/** Table index of a value in [0, 1] (clamped; NaN counts as 0). */
export const level = (v: number): number => (v > 0 ? Math.min(LEVELS - 1, Math.round(v * (LEVELS - 1))) : 0);

export function heatColour(v: number): Rgb {
  const i = level(v) * 3;
  return [HEAT[i]!, HEAT[i + 1]!, HEAT[i + 2]!];
}

/** The same colours as a CSS gradient, left (0) to right (1), for legends. */
export function heatGradientCss(stops = 16): string {
  const colours = Array.from({ length: stops + 1 }, (_, i) => {
    const [r, g, b] = heatColour(i / stops);
    return `rgb(${r} ${g} ${b}) ${((100 * i) / stops).toFixed(1)}%`;
  });
  return `linear-gradient(to right, ${colours.join(', ')})`;
}

/** Text that stays readable on a heat colour: dark on light colours, white on dark ones. */
export function inkOn([r, g, b]: Rgb): string {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? '#111' : '#fff';
}

/** Class colours: Tableau 10, then hues stepped by the golden angle so any number of classes stay apart. */
export function classColour(index: number): Rgb {
  const fixed = schemeTableau10[index];
  const c = rgb(fixed ?? `hsl(${(index * 137.508) % 360}, 65%, 50%)`);
  return [c.r, c.g, c.b];
}

export const cssColour = ([r, g, b]: Rgb): string => `rgb(${r} ${g} ${b})`;
