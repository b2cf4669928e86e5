/**
 * `cosmos scenes --held-out N [--size S] --out DIR`: the first N held-out scenes of the built-in data set as PNGs
 * (0000.png, ...) and DIR/scenes.jsonl, one line per image: its file, caption and objects, each with its name, the
 * caption's sentence about it and its box in the written image's pixels ([x0, y0, x1, y1], x1 and y1 exclusive):
 * the ground truth the pointing game and the segmentation metric use, for other tools to read.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PRESETS } from '../cosmos/presets.ts';
import { sceneData } from '../data/dataset.ts';
import { encodePng } from '../data/image-node.ts';
import { loadSceneAtlasFromDisk } from '../data/scenes-node.ts';
import type { SceneKinds } from '../data/scenes.ts';
import { UsageError } from './args.ts';
import { defineCommand } from './command.ts';

export const scenesCommand = defineCommand({
  name: 'scenes',
  summary: 'write held-out built-in scenes as PNGs with their captions and object boxes (scenes.jsonl)',
  flags: {
    'held-out': { kind: 'number', min: 1, value: 'N' },
    size: { kind: 'number', min: 8, value: 'S' },
    out: { kind: 'string', required: true, value: 'DIR' },
    scenes: { kind: 'string', choices: ['all', 'teaching'] },
  },
  async run(flags, ctx) {
    const count = flags['held-out'];
    if (count === undefined) throw new UsageError('--held-out is required');
    const size = flags.size ?? PRESETS.tiny.vision.imageSize;
    const data = sceneData(await loadSceneAtlasFromDisk(), 0, (flags.scenes ?? 'all') as SceneKinds);
    await mkdir(flags.out, { recursive: true });
    const lines: string[] = [];
    for (const [i, scene] of data.heldOutScenes!(count, size).entries()) {
      const file = `${String(i).padStart(4, '0')}.png`;
      await writeFile(join(flags.out, file), encodePng(scene.image));
      const objects = scene.objects.map(({ name, sentence, box }) => ({ name, sentence, box }));
      lines.push(JSON.stringify({ file, caption: scene.caption, objects }));
    }
    await writeFile(join(flags.out, 'scenes.jsonl'), `${lines.join('\n')}\n`);
    ctx.result({ out: flags.out, scenes: lines.length, size }, () => `wrote ${lines.length} held-out scenes (${size} px) and scenes.jsonl to ${flags.out}`);
  },
});
