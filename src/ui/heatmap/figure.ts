/**
 * "Export PNG": the attention figure drawn afresh on one canvas, with the same drawing code as the page (draw.ts),
 * so the file shows what the page shows: a title, the maps in a row, small multiples in a labelled grid, the
 * caption's tokens coloured by weight, and the colour legend with its scale in words.
 */
import type { RgbImage } from '../../data/image.ts';
import { cssColour, heatColour, inkOn } from './colormap.ts';
import { type Box, drawHeatmap, drawPicture } from './draw.ts';
import { minMaxNormalize } from './normalize.ts';
import type { ShownToken } from './tokens.ts';

export interface FigureMap {
  label: string;
  image: RgbImage;
  values: Float32Array;
  grid: readonly [number, number];
}

export interface FigureSpec {
  title: string;
  /** Large maps, side by side. */
  maps: FigureMap[];
  /** Small multiples: rows of maps with row and column labels. */
  grid?: { title: string; rowLabels: string[]; columnLabels: string[]; maps: FigureMap[][] };
  tokens?: { title: string; tokens: ShownToken[] };
  legend: string;
  opacity: number;
}

const WIDTH = 1200;
const PAD = 24;
const MAP = 300;
const CELL = 96;
const FONT = '15px system-ui, sans-serif';
const SMALL = '13px system-ui, sans-serif';
const BOLD = '600 17px system-ui, sans-serif';

/** Words of `text` broken into lines no wider than `width`. */
function wrap(context: CanvasRenderingContext2D, text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    const next = line ? `${line} ${word}` : word;
    if (line && context.measureText(next).width > width) {
      lines.push(line);
      line = word;
    } else line = next;
  }
  if (line) lines.push(line);
  return lines;
}

function drawMap(context: CanvasRenderingContext2D, map: FigureMap, box: Box, opacity: number): void {
  drawPicture(context, map.image, box);
  drawHeatmap(context, minMaxNormalize(map.values).values, map.grid, box, { opacity });
}

/** Lays the figure out top to bottom; with `draw` false only measures (the canvas height comes first). */
function layout(context: CanvasRenderingContext2D, spec: FigureSpec, draw: boolean): number {
  let y = PAD;
  const text = (value: string, x: number, font: string, colour = '#1d2330') => {
    if (!draw) return;
    context.font = font;
    context.fillStyle = colour;
    context.fillText(value, x, y);
  };
  context.textBaseline = 'top';
  context.font = BOLD;
  for (const line of wrap(context, spec.title, WIDTH - 2 * PAD)) {
    text(line, PAD, BOLD);
    y += 24;
  }
  y += 8;
  // Labels wrap within their map's width; the maps start below the tallest label.
  context.font = FONT;
  const labels = spec.maps.map((map) => wrap(context, map.label, MAP));
  const labelHeight = Math.max(0, ...labels.map((lines) => lines.length)) * 20 + 4;
  const top = y;
  spec.maps.forEach((map, i) => {
    const x = PAD + i * (MAP + PAD);
    labels[i]!.forEach((line, l) => {
      y = top + l * 20;
      text(line, x, FONT);
    });
    if (draw) drawMap(context, map, { x, y: top + labelHeight, width: MAP, height: MAP }, spec.opacity);
  });
  y = top + labelHeight + MAP + PAD;
  if (spec.grid) {
    const g = spec.grid;
    text(g.title, PAD, FONT);
    y += 24;
    for (const [c, label] of g.columnLabels.entries()) text(label, PAD + 70 + c * (CELL + 6), SMALL, '#5d6778');
    y += 18;
    const perRow = Math.max(1, Math.floor((WIDTH - 2 * PAD - 70) / (CELL + 6)));
    g.maps.forEach((row, r) => {
      text(g.rowLabels[r]!, PAD, SMALL, '#5d6778');
      row.slice(0, perRow).forEach((map, c) => {
        if (draw) drawMap(context, map, { x: PAD + 70 + c * (CELL + 6), y, width: CELL, height: CELL }, spec.opacity);
      });
      y += CELL + 6;
    });
    y += PAD - 6;
  }
  if (spec.tokens) {
    text(spec.tokens.title, PAD, FONT);
    y += 26;
    context.font = FONT;
    let x = PAD;
    for (const token of spec.tokens.tokens) {
      const width = context.measureText(token.text).width + 10;
      const gap = token.joined ? 1 : 6;
      if (x + gap + width > WIDTH - PAD && x > PAD) {
        x = PAD;
        y += 28;
      } else if (x > PAD) x += gap;
      if (draw) {
        const colour = heatColour(token.value);
        context.globalAlpha = token.special ? 0.55 : 1;
        context.fillStyle = cssColour(colour);
        context.fillRect(x, y, width, 24);
        context.fillStyle = inkOn(colour);
        context.fillText(token.text, x + 5, y + 4);
        context.globalAlpha = 1;
      }
      x += width;
    }
    y += 28 + PAD;
  }
  if (draw) {
    const bar = context.createLinearGradient(PAD, 0, PAD + 300, 0);
    for (let i = 0; i <= 16; i++) bar.addColorStop(i / 16, cssColour(heatColour(i / 16)));
    context.fillStyle = bar;
    context.fillRect(PAD, y, 300, 14);
  }
  y += 18;
  text('0', PAD, SMALL, '#5d6778');
  text('1', PAD + 292, SMALL, '#5d6778');
  y += 20;
  context.font = SMALL;
  for (const line of wrap(context, spec.legend, WIDTH - 2 * PAD)) {
    text(line, PAD, SMALL, '#5d6778');
    y += 18;
  }
  return y + PAD;
}

/** The figure as a PNG. */
export function figurePng(spec: FigureSpec): Promise<Blob> {
  const canvas = document.createElement('canvas');
  canvas.width = WIDTH;
  const context = canvas.getContext('2d');
  if (!context) throw new Error('This browser gives no 2D canvas: the figure cannot be drawn.');
  canvas.height = Math.ceil(layout(context, spec, false));
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, canvas.width, canvas.height);
  layout(context, spec, true);
  return new Promise((resolve, reject) =>
    canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('The figure could not be encoded as PNG.'))), 'image/png'),
  );
}
