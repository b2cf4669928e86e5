/**
 * `cosmos segment`: SCLIP-style zero-shot segmentation (src/eval/segment.ts) on the teacher weights by default,
 * classes as the mean of the 80 prompt templates; optionally with CSA in the last vision block, and the class map
 * written as a PNG (one colour per class, background black).
 */
import { parseClassNames } from '../eval/classNames.ts';
import { writeFile } from 'node:fs/promises';
import pngjs from 'pngjs';
import { decodeImageFile } from '../data/image-node.ts';
import { loadClipTokenizer } from '../data/tokenizer-node.ts';
import { classEmbeddings } from '../eval/classify.ts';
import { BACKGROUND, type Segmentation, segmentImage } from '../eval/segment.ts';
import { promptsFor } from '../eval/templates.ts';
import { defineCommand } from './command.ts';
import { percent } from './format.ts';
import { MODEL_FLAGS, loadModel } from './inputs.ts';

/** Distinct colours for the first classes; later ones step around the hue circle by the golden angle. */
const PALETTE: [number, number, number][] = [
  [230, 25, 75],
  [60, 180, 75],
  [0, 130, 200],
  [255, 225, 25],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 212],
  [0, 128, 128],
  [220, 190, 255],
  [170, 110, 40],
  [255, 250, 200],
  [128, 0, 0],
  [170, 255, 195],
  [128, 128, 0],
  [255, 215, 180],
  [0, 0, 128],
  [128, 128, 128],
];

export function classColour(index: number): [number, number, number] {
  const fixed = PALETTE[index];
  if (fixed) return fixed;
  const hue = (index * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + hue / 60) % 6;
    return Math.round(255 * (1 - 0.7 * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

export function classMapPng(segmentation: Segmentation): Buffer {
  const { width, height, labels } = segmentation;
  const png = new pngjs.PNG({ width, height });
  labels.forEach((label, p) => {
    const [r, g, b] = label === BACKGROUND ? [0, 0, 0] : classColour(label);
    png.data.set([r, g, b, 255], p * 4);
  });
  return pngjs.PNG.sync.write(png);
}

export const segmentCommand = defineCommand({
  name: 'segment',
  summary: 'SCLIP-style zero-shot segmentation (teacher weights by default), optional CSA, class map as PNG',
  flags: {
    ...MODEL_FLAGS,
    image: { kind: 'string', required: true, value: 'I.png' },
    classes: { kind: 'string', required: true, value: '"cat,dog,..."' },
    csa: { kind: 'switch' },
    scale: { kind: 'number', min: 0, value: '40' },
    threshold: { kind: 'number', min: 0, value: '0.1' },
    out: { kind: 'string', value: 'mask.png' },
  },
  async run(flags, ctx) {
    const names = parseClassNames(flags.classes);
    if (flags.out && !flags.out.toLowerCase().endsWith('.png')) {
      throw new Error(`--out ${flags.out}: the class map is written as PNG, name it .png`);
    }
    const tokenizer = await loadClipTokenizer();
    const image = await decodeImageFile(flags.image);
    const { model, weights } = await loadModel(ctx, flags, 'teacher');
    let segmentation: Segmentation;
    try {
      const classes = classEmbeddings(
        model,
        names.map((name) => tokenizer.rowsFor(promptsFor(name), model.config.text)),
      );
      const options = { csa: flags.csa, logitScale: flags.scale, threshold: flags.threshold };
      segmentation = await segmentImage(model, image, classes, options).finally(() => classes.dispose());
    } finally {
      model.dispose();
    }
    if (flags.out) await writeFile(flags.out, classMapPng(segmentation));
    const { width, height, labels } = segmentation;
    const counts = new Array<number>(names.length + 1).fill(0);
    for (const label of labels) counts[label === BACKGROUND ? names.length : label]!++;
    const fractions = Object.fromEntries(names.map((name, i) => [name, counts[i]! / labels.length]));
    const background = counts[names.length]! / labels.length;
    const json = {
      image: flags.image,
      width,
      height,
      weights,
      csa: flags.csa,
      classes: names,
      fractions,
      background,
      labels: Array.from({ length: height }, (_, y) => [...labels.subarray(y * width, (y + 1) * width)]),
      out: flags.out ?? null,
    };
    ctx.result(json, () =>
      [
        `${flags.image} (${width}x${height}), ${weights} weights${flags.csa ? ', CSA' : ''}:`,
        ...names.map((name, i) => `  ${name}: ${percent(fractions[name]!)} (rgb ${classColour(i).join(', ')})`),
        `  background: ${percent(background)} (black)`,
        ...(flags.out ? [`wrote ${flags.out}`] : []),
      ].join('\n'),
    );
  },
});
