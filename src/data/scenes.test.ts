// The built-in emoji scenes: the shipped atlas against its npm source, determinism, captions, masks against an
// independent nearest-neighbour footprint of each sprite, the held-out rule, sizes and speed. No GPU needed.
import { HELD_OUT_COUNT } from './dataset.ts';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import pngjs from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadSceneAtlasFromDisk, PUBLIC_SCENES_DIR } from './scenes-node.ts';
import { loadClipTokenizer } from './tokenizer-node.ts';
import { CONTEXT_LENGTH } from './tokenizer.ts';
import {
  BACKGROUNDS,
  backgroundOf,
  captionSentences,
  PLAIN_BACKDROP,
  TEACHING_EMOJI,
  heldOutScenes,
  isHeldOutPair,
  objectPixelBox,
  POSITIONS,
  renderScene,
  SCENE_INDEX_FILE,
  sceneCaption,
  SIZE_CLASSES,
  SIZE_EXTENT,
  trainScene,
  type Scene,
  type SceneAtlas,
  type SceneKinds,
  type SceneObject,
} from './scenes.ts';

/** Training scenes 0 .. count - 1 of a seed. */
const trainScenes = (atlas: SceneAtlas, count: number, seed: number, kinds: SceneKinds = 'all'): Scene[] =>
  Array.from({ length: count }, (_, i) => trainScene(atlas, seed, i, kinds));

/** The object set of a scene as one string: what the held-out rule keeps apart. */
const sceneObjectSet = (scene: Scene): string =>
  scene.objects
    .map((o) => o.emoji)
    .sort((a, b) => a - b)
    .join(',');

let atlas: SceneAtlas;
beforeAll(async () => {
  atlas = await loadSceneAtlasFromDisk();
});

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');
const pairs = (scene: Scene) => scene.objects.flatMap((a, i) => scene.objects.slice(i + 1).map((b) => [a.emoji, b.emoji] as const));

describe('shipped data (public/scenes)', () => {
  it('stays small', () => {
    const bytes = readdirSync(PUBLIC_SCENES_DIR).reduce((sum, f) => sum + statSync(join(PUBLIC_SCENES_DIR, f)).size, 0);
    expect(bytes).toBeLessThan(4 * 1024 * 1024);
  });

  it('names a few hundred distinct emoji from several categories, with names captions can split on', () => {
    expect(atlas.emoji.length).toBeGreaterThanOrEqual(200);
    expect(atlas.emoji.length).toBeLessThanOrEqual(300);
    expect(new Set(atlas.emoji.map((e) => e.name)).size).toBe(atlas.emoji.length);
    expect(new Set(atlas.emoji.map((e) => e.category)).size).toBeGreaterThanOrEqual(10);
    for (const e of atlas.emoji) expect(e.name).toMatch(/^[a-z][a-z -]*[a-z]$/);
  });

  it('holds exactly the Noto sprites of emoji-datasource-google (colour wherever alpha > 0)', () => {
    const index = JSON.parse(readFileSync(join(PUBLIC_SCENES_DIR, SCENE_INDEX_FILE), 'utf8')) as {
      emoji: { unified: string }[];
    };
    const require = createRequire(import.meta.url);
    const imageDir = join(dirname(require.resolve('emoji-datasource-google/package.json')), 'img', 'google', '64');
    atlas.emoji.forEach((e, i) => {
      const source = pngjs.PNG.sync.read(readFileSync(join(imageDir, `${index.emoji[i]!.unified.toLowerCase()}.png`)));
      let mismatches = 0;
      for (let y = 0; y < atlas.sprite; y++) {
        for (let x = 0; x < atlas.sprite; x++) {
          const p = (y * atlas.sprite + x) * 4;
          const q = ((e.y + y) * atlas.width + e.x + x) * 4;
          const channels = source.data[p + 3] === 0 ? [3] : [0, 1, 2, 3];
          if (channels.some((k) => source.data[p + k] !== atlas.rgba[q + k])) mismatches++;
        }
      }
      expect(mismatches, e.name).toBe(0);
    });
  });
});

describe('scene generation', () => {
  it('is deterministic: same seed and index, same scene, caption and pixels', () => {
    const a = trainScenes(atlas, 20, 42);
    const b = trainScenes(atlas, 20, 42);
    expect(b).toEqual(a);
    expect(trainScene(atlas, 42, 13)).toEqual(a[13]);
    for (const scene of a.slice(0, 5)) {
      for (const size of [64, 224]) {
        const first = renderScene(atlas, scene, size);
        const again = renderScene(atlas, structuredClone(scene), size);
        expect(sha256(again.image.data)).toBe(sha256(first.image.data));
        expect(sha256(new Uint8Array(again.mask.buffer))).toBe(sha256(new Uint8Array(first.mask.buffer)));
      }
    }
    const other = trainScenes(atlas, 20, 43);
    expect(other.map(sceneCaption)).not.toEqual(a.map(sceneCaption));
  });

  it('pins the held-out split (object sets, backgrounds): a change here changes the evaluation set', () => {
    const held = heldOutScenes(atlas, HELD_OUT_COUNT);
    expect(held.length).toBe(256);
    expect(heldOutScenes(atlas, 16)).toEqual(held.slice(0, 16));
    const summary = held.map(
      (s) =>
        `${s.objects
          .map((o) => o.name)
          .sort()
          .join('+')}@${backgroundOf(s).name}`,
    );
    expect(sha256(summary.join('\n'))).toBe('cde123ccad6703cecec6a9fd7dd12b0062912bcbeee5a851fc9ee9911cee81f1');
  });

  it('places 1-4 distinct emoji in distinct cells, inside the image, overlapping little', () => {
    const counts = [0, 0, 0, 0, 0];
    for (const scene of [...trainScenes(atlas, 2000, 7), ...heldOutScenes(atlas, HELD_OUT_COUNT)]) {
      const { objects } = scene;
      counts[objects.length]!++;
      expect(new Set(objects.map((o) => o.emoji)).size).toBe(objects.length);
      expect(new Set(objects.map((o) => o.cell)).size).toBe(objects.length);
      for (const o of objects) {
        const half = SIZE_EXTENT[o.size] / 2;
        expect(o.x - half).toBeGreaterThanOrEqual(0);
        expect(o.x + half).toBeLessThanOrEqual(1);
        // The centre stays nearer its own cell's centre than any other's, so the named position is right.
        const nearest = (t: number) => Math.min(2, Math.max(0, Math.floor(t * 3)));
        expect(nearest(o.y) * 3 + nearest(o.x)).toBe(o.cell);
      }
      for (const [i, j] of objects.flatMap((_, i) => objects.slice(i + 1).map((_, k) => [i, i + 1 + k] as const))) {
        const [a, b] = [objects[i]!, objects[j]!];
        const overlap = (lo: (o: SceneObject) => number, hi: (o: SceneObject) => number) => Math.max(0, Math.min(hi(a), hi(b)) - Math.max(lo(a), lo(b)));
        const w = overlap(
          (o) => o.x - SIZE_EXTENT[o.size] / 2,
          (o) => o.x + SIZE_EXTENT[o.size] / 2,
        );
        const h = overlap(
          (o) => o.y - SIZE_EXTENT[o.size] / 2,
          (o) => o.y + SIZE_EXTENT[o.size] / 2,
        );
        const smaller = Math.min(SIZE_EXTENT[a.size], SIZE_EXTENT[b.size]) ** 2;
        expect(w * h).toBeLessThanOrEqual(0.15 * smaller + 1e-12);
      }
    }
    expect(counts[0]).toBe(0);
    for (const n of [1, 2, 3, 4]) expect(counts[n]).toBeGreaterThan(100);
  });
});

describe('held-out split', () => {
  it('never shows a held-out object set (or even a held-out pair) in 10,000 training scenes', () => {
    const held = heldOutScenes(atlas, HELD_OUT_COUNT);
    const heldSets = new Set(held.map(sceneObjectSet));
    for (const scene of held) {
      expect(scene.objects.length).toBeGreaterThanOrEqual(2);
      expect(pairs(scene).some(([a, b]) => isHeldOutPair(atlas, a, b))).toBe(true);
    }
    for (const seed of [0, 1]) {
      for (const scene of trainScenes(atlas, 10_000, seed)) {
        expect(heldSets.has(sceneObjectSet(scene))).toBe(false);
        expect(pairs(scene).some(([a, b]) => isHeldOutPair(atlas, a, b))).toBe(false);
      }
    }
  });

  it('holds out about 1 pair in 8, whatever the order of the two', () => {
    let held = 0;
    let total = 0;
    for (let a = 0; a < atlas.emoji.length; a++) {
      for (let b = a + 1; b < atlas.emoji.length; b++) {
        expect(isHeldOutPair(atlas, b, a)).toBe(isHeldOutPair(atlas, a, b));
        held += Number(isHeldOutPair(atlas, a, b));
        total++;
      }
    }
    expect(held / total).toBeGreaterThan(0.11);
    expect(held / total).toBeLessThan(0.14);
  });
});

describe('captions', () => {
  const scenes = () => [...trainScenes(atlas, 1000, 3), ...heldOutScenes(atlas, HELD_OUT_COUNT)];

  it('say every object (name, size, position) and the background, one sentence each, split on "."', () => {
    for (const scene of scenes()) {
      const sentences = captionSentences(scene);
      expect(sentences.length).toBe(scene.objects.length + 1);
      const caption = sceneCaption(scene);
      expect(
        caption
          .split('.')
          .map((s) => s.trim())
          .filter(Boolean),
      ).toEqual(sentences);
      const background = backgroundOf(scene).phrase;
      expect(sentences.filter((s) => s.endsWith(background)).length).toBe(1);
      const objectSentences = sentences.filter((s) => !s.endsWith(background));
      for (const o of scene.objects) {
        const own = objectSentences.filter((s) => s.includes(` ${o.name} `) || s.endsWith(` ${o.name}`));
        expect(own.length, `${o.name} in "${caption}"`).toBe(1);
        expect(own[0]).toContain(` ${o.size} `);
        expect(own[0]).toMatch(new RegExp(`the ${POSITIONS[o.cell]}( |$)`));
      }
    }
  });

  it('vary: sentence order, templates, background first or last', () => {
    const all = scenes();
    const firstIsTopmost = all.filter((s) => s.objects.length >= 2).map((s) => s.objects[0]!.cell === Math.min(...s.objects.map((o) => o.cell)));
    expect(new Set(firstIsTopmost).size).toBe(2);
    expect(new Set(all.map((s) => s.backgroundFirst)).size).toBe(2);
    expect(new Set(all.map((s) => s.backgroundPhrasing)).size).toBe(3);
    expect(new Set(all.flatMap((s) => s.objects.map((o) => o.phrasing))).size).toBe(4);
    expect(new Set(all.map((s) => s.background)).size).toBe(BACKGROUNDS.length);
    expect(new Set(all.flatMap((s) => s.objects.map((o) => o.size))).size).toBe(SIZE_CLASSES.length);
  });

  it('of teaching scenes say only the objects: one plain backdrop, not mentioned, drawn evenly', () => {
    const teaching = [...trainScenes(atlas, 200, 5, 'teaching'), ...heldOutScenes(atlas, 64, 'teaching')];
    for (const scene of teaching) {
      expect(scene.background).toBeNull();
      expect(scene.objects.every((o) => TEACHING_EMOJI.includes(o.name))).toBe(true);
      expect(captionSentences(scene).length).toBe(scene.objects.length);
      expect(sceneCaption(scene)).not.toContain(PLAIN_BACKDROP.phrase);
    }
    // Outside every sprite's square, every pixel is the backdrop's one colour.
    const size = 64;
    const scene = teaching[0]!;
    const { image } = renderScene(atlas, scene, size);
    const squares = scene.objects.map((o) => objectPixelBox(o, size));
    const colours = new Set<string>();
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        if (squares.some((b) => x >= b.left && x < b.left + b.side && y >= b.top && y < b.top + b.side)) continue;
        colours.add(Array.from(image.data.subarray((y * size + x) * 3, (y * size + x) * 3 + 3)).join(','));
      }
    }
    expect([...colours]).toEqual(['214,214,210']);
  });

  it('fit in the CLIP context (77 tokens) even for the longest possible sentences', async () => {
    const tokenizer = await loadClipTokenizer();
    const tokens = (s: string) => tokenizer.encode(`${s}.`).length;
    const longest = (sentences: string[]) => Math.max(...sentences.map(tokens));
    const objectSentences = atlas.emoji.flatMap((e, emoji) =>
      POSITIONS.flatMap((_, cell) =>
        [0, 1, 2, 3].flatMap((phrasing) =>
          SIZE_CLASSES.map((size) => {
            const object = { emoji, name: e.name, size, cell, x: 0.5, y: 0.5, phrasing };
            return captionSentences({ seed: 0, background: 0, backgroundPhrasing: 0, backgroundFirst: true, objects: [object] })[1]!;
          }),
        ),
      ),
    );
    const backgroundSentences = BACKGROUNDS.flatMap((_, background) =>
      [0, 1, 2].map((backgroundPhrasing) => captionSentences({ seed: 0, background, backgroundPhrasing, backgroundFirst: true, objects: [] })[0]!),
    );
    // SOT + 4 object sentences + the background sentence + EOT; words never merge across sentences.
    expect(2 + 4 * longest(objectSentences) + longest(backgroundSentences)).toBeLessThanOrEqual(CONTEXT_LENGTH);
  });
});

describe('rendering', () => {
  /** Per image pixel, 1 where the atlas pixel nearest to its centre in o's sprite is more than half opaque. */
  const nearestFootprint = (o: SceneObject, size: number) => {
    const { left, top, side } = objectPixelBox(o, size);
    const e = atlas.emoji[o.emoji]!;
    const footprint = new Uint8Array(size * size);
    for (let y = Math.max(0, top); y < Math.min(size, top + side); y++) {
      for (let x = Math.max(0, left); x < Math.min(size, left + side); x++) {
        const sx = Math.floor(((x - left + 0.5) / side) * atlas.sprite);
        const sy = Math.floor(((y - top + 0.5) / side) * atlas.sprite);
        footprint[y * size + x] = Number(atlas.rgba[((e.y + sy) * atlas.width + e.x + sx) * 4 + 3]! > 127);
      }
    }
    return footprint;
  };

  it.each([64, 224])('masks match where the sprites were drawn (%i px)', (size) => {
    for (const scene of [...trainScenes(atlas, 30, 11), ...heldOutScenes(atlas, 10)]) {
      const { image, mask } = renderScene(atlas, scene, size);
      const bare = renderScene(atlas, { ...scene, objects: [] }, size);
      expect([image.width, image.height, image.data.length]).toEqual([size, size, size * size * 3]);
      expect(bare.mask.every((c) => c === 0)).toBe(true);
      const boxes = scene.objects.map((o) => ({ id: o.emoji + 1, ...objectPixelBox(o, size) }));
      let wrongId = 0;
      let backgroundChanged = 0;
      for (let y = 0, p = 0; y < size; y++) {
        for (let x = 0; x < size; x++, p++) {
          const covering = boxes.filter((b) => x >= b.left && x < b.left + b.side && y >= b.top && y < b.top + b.side);
          if (mask[p] !== 0 && !covering.some((b) => b.id === mask[p])) wrongId++;
          const untouched = covering.length === 0;
          if (untouched && [0, 1, 2].some((k) => image.data[p * 3 + k] !== bare.image.data[p * 3 + k])) backgroundChanged++;
        }
      }
      // A class id only inside its own sprite's box; outside every box, the background exactly.
      expect(wrongId).toBe(0);
      expect(backgroundChanged).toBe(0);
      // Each unoccluded object's mask agrees with its sprite's nearest-neighbour footprint: filtering moves edges
      // by up to a pixel; away from the footprint's edges only a few pixels of thin strokes (harp strings) may
      // differ; and both have the same centroid (no shift).
      for (const o of scene.objects) {
        if (scene.objects.some((other) => other !== o && SIZE_EXTENT[other.size] <= SIZE_EXTENT[o.size])) continue;
        const footprint = nearestFootprint(o, size);
        const at = (x: number, y: number) => (x < 0 || y < 0 || x >= size || y >= size ? 0 : footprint[y * size + x]!);
        let offEdge = 0;
        const sums = { mask: [0, 0, 0], nearest: [0, 0, 0] };
        for (let y = 0, p = 0; y < size; y++) {
          for (let x = 0; x < size; x++, p++) {
            const a = Number(mask[p] === o.emoji + 1);
            const b = footprint[p]!;
            if (a) sums.mask = [sums.mask[0]! + x, sums.mask[1]! + y, sums.mask[2]! + 1];
            if (b) sums.nearest = [sums.nearest[0]! + x, sums.nearest[1]! + y, sums.nearest[2]! + 1];
            if (a === b) continue;
            const edge = [-1, 0, 1].some((dy) => [-1, 0, 1].some((dx) => at(x + dx, y + dy) !== b));
            if (!edge) offEdge++;
          }
        }
        expect(offEdge, `${o.name} at ${size}`).toBeLessThanOrEqual(8);
        for (const k of [0, 1]) {
          const shift = sums.mask[k]! / sums.mask[2]! - sums.nearest[k]! / sums.nearest[2]!;
          expect(Math.abs(shift), `${o.name} at ${size}`).toBeLessThan(0.5);
        }
      }
    }
  });

  it('draws the same scene alike at any size', () => {
    for (const scene of trainScenes(atlas, 20, 5)) {
      const fractions = [64, 97, 224].map((size) => {
        const { mask } = renderScene(atlas, scene, size);
        return scene.objects.map((o) => mask.filter((c) => c === o.emoji + 1).length / (size * size));
      });
      for (const f of fractions.slice(1)) {
        for (const [i, v] of f.entries()) expect(Math.abs(v - fractions[2]![i]!)).toBeLessThan(0.01 + 0.15 * fractions[2]![i]!);
      }
    }
  });

  it('renders 100 scenes at 64 px well under a second', () => {
    const scenes = trainScenes(atlas, 100, 9);
    renderScene(atlas, scenes[0]!, 64); // warm up the JIT
    const start = performance.now();
    for (const scene of scenes) renderScene(atlas, scene, 64);
    const ms = performance.now() - start;
    console.log(`100 scenes at 64 px: ${ms.toFixed(1)} ms`);
    expect(ms).toBeLessThan(500);
  });
});
