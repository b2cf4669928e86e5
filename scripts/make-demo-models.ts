/**
 * Trains the demo models that ship with the app and writes public/models/: demo-cosmos.* and demo-clip.* (float16
 * .safetensors, the OpenCLIP config beside each, the training curve as JSON lines) and demo.json (the cards the
 * page reads: command, wall clock, steps, `cosmos evaluate --json`, and the showcase scene).
 *
 * Both are the tiny preset trained from scratch by `cosmos train` on the teaching scenes with the teaching views, on
 * the same wall-clock budget of --minutes: each mode's step time is measured by a short run first, and each trains
 * as many steps as fit in the budget (CLIP mode's step is cheaper: no teacher, no local views, so it takes more).
 *
 *   node --import tsx --import ./scripts/wgsl-hooks.mjs scripts/make-demo-models.ts [--minutes M] [--batch B] [--lr LR]
 *
 * With --showcase-only it trains nothing: it chooses the showcase scene of the shipped models again (demo.json).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openCheckpoint } from '../src/cli/inputs.ts';
import { modelFromCheckpoint } from '../src/cosmos/load.ts';
import { type HeldOutScene, sceneData } from '../src/data/dataset.ts';
import { loadSceneAtlasFromDisk } from '../src/data/scenes-node.ts';
import { loadClipTokenizer } from '../src/data/tokenizer-node.ts';
import { explanationPointing } from '../src/eval/explanationPointing.ts';
import { pointingGame } from '../src/eval/sceneMetrics.ts';
import { createNodeRuntime } from '../src/gpu/node.ts';
import { installRuntime } from '../src/tensor/engine.ts';
import { bestPointingMap } from '../src/ui/panels/pointingMap.ts';
import type { DemoManifest, DemoModelCard, DemoName } from '../src/worker/protocol.ts';

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '15' },
    batch: { type: 'string', default: '16' },
    lr: { type: 'string', default: '0.002' },
    'showcase-only': { type: 'boolean', default: false },
  },
});
const OUT = 'public/models';
const WORK = join(tmpdir(), 'cosmos-demo-models');
const SEED = 0;
/** Held-out scenes the showcase is chosen among: the first ones, which the Attention panel lists first. */
const SHOWCASE_CANDIDATES = 32;

/** Runs `npm run cosmos -- args` in this process's Node, returns its stdout's JSON lines and its wall clock. */
function cosmos(args: string[]): { lines: Record<string, unknown>[]; seconds: number } {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (run.status !== 0) throw new Error(`cosmos ${args.join(' ')} exited with ${run.status}`);
  const lines = run.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  return { lines, seconds: (performance.now() - started) / 1000 };
}

const trainArgs = (mode: DemoName, steps: number, out: string) => [
  'train',
  ...['--preset', 'tiny', '--mode', mode, '--steps', String(steps), '--batch', values.batch!, '--lr', values.lr!, '--seed', String(SEED)],
  ...['--scenes', 'teaching', '--views', 'teaching', '--log-every', '10', '--eval-every', '100', '--eval-count', '256', '--out', out, '--json'],
];

/** Mean seconds per training step over a short run, its first two steps (compiling pipelines) left out. */
function secondsPerStep(mode: DemoName): number {
  const { lines } = cosmos([
    'train',
    '--preset',
    'tiny',
    '--mode',
    mode,
    '--steps',
    '8',
    '--batch',
    values.batch!,
    '--scenes',
    'teaching',
    '--views',
    'teaching',
    '--json',
  ]);
  const rates = lines.filter((l) => typeof l.samples_per_second === 'number' && (l.step as number) > 2).map((l) => l.samples_per_second as number);
  return Number(values.batch) / (rates.reduce((a, b) => a + b, 0) / rates.length);
}

function train(mode: DemoName, steps: number): Omit<DemoModelCard, 'evaluate'> {
  const checkpoint = join(WORK, `demo-${mode}.pt`);
  const args = trainArgs(mode, steps, checkpoint);
  console.log(`training the ${mode} demo: ${steps} steps`);
  const { lines, seconds } = cosmos(args);
  writeFileSync(join(OUT, `demo-${mode}.train.jsonl`), `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
  // CLIP mode never trains COSMOS's poolers: the CLIP demo is a plain CLIP model, without their initial weights.
  const clipOnly = mode === 'clip' ? ['--clip-only'] : [];
  cosmos(['export', '--checkpoint', checkpoint, '--dtype', 'float16', ...clipOnly, '--out', join(OUT, `demo-${mode}.safetensors`), '--json']);
  return {
    weights: `demo-${mode}.safetensors`,
    config: `demo-${mode}.json`,
    mode,
    command: `npm run cosmos -- ${args.join(' ').replace(checkpoint, `demo-${mode}.pt`)}`,
    seconds: Math.round(seconds),
    steps,
  };
}

function evaluate(mode: DemoName): DemoModelCard['evaluate'] {
  const { lines } = cosmos(['evaluate', '--checkpoint', join(OUT, `demo-${mode}.safetensors`), '--scenes', 'teaching', '--count', '256', '--json']);
  return lines.at(-1) as DemoModelCard['evaluate'];
}

/**
 * The held-out scene, among the first few, where the COSMOS demo's map that points best (by its `evaluate` numbers,
 * the map "Explore a trained model" opens on) points at the most objects.
 */
async function showcase(evaluated: DemoModelCard['evaluate']): Promise<number> {
  const best = bestPointingMap(evaluated);
  if (!best) throw new Error('the COSMOS demo has no pointing score to choose its showcase scene by');
  const runtime = await createNodeRuntime();
  installRuntime(runtime);
  const checkpoint = await openCheckpoint({ checkpoint: join(OUT, 'demo-cosmos.safetensors') });
  const { config } = checkpoint.resolved;
  const model = await modelFromCheckpoint(checkpoint, { config });
  await checkpoint.close();
  const scenes = sceneData(await loadSceneAtlasFromDisk(), SEED, 'teaching').heldOutScenes!(SHOWCASE_CANDIDATES, config.vision.imageSize);
  const tokenizer = await loadClipTokenizer();
  const pointing = async (scene: HeldOutScene): Promise<number> => {
    if (best.kind === 'crossAttention') return (await pointingGame(model, tokenizer, [scene])).crossAttention!.value;
    const explained = await explanationPointing(model, tokenizer, [scene]);
    return (best.start === null ? explained.relevance : explained.relevanceBlock0).value;
  };
  let chosen = { index: 0, hits: -1 };
  for (const [index, scene] of scenes.entries()) {
    const hits = (await pointing(scene)) * scene.objects.length;
    if (hits > chosen.hits) chosen = { index, hits };
  }
  model.dispose();
  runtime.destroy();
  return chosen.index;
}

if (values['showcase-only']) {
  // The shipped models as they are: only the showcase scene is chosen again.
  const manifestFile = join(OUT, 'demo.json');
  const shipped = JSON.parse(readFileSync(manifestFile, 'utf8')) as DemoManifest;
  const manifest: DemoManifest = { ...shipped, showcase: await showcase(shipped.models.cosmos.evaluate) };
  writeFileSync(manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  console.log(`showcase: held-out scene ${manifest.showcase}`);
  process.exit(0);
}

mkdirSync(OUT, { recursive: true });
mkdirSync(WORK, { recursive: true });
const budget = Number(values.minutes) * 60;
const steps = { cosmos: Math.round(budget / secondsPerStep('cosmos')), clip: Math.round(budget / secondsPerStep('clip')) };
const cosmosCard = train('cosmos', steps.cosmos);
const clipCard = train('clip', steps.clip);
const manifest: DemoManifest = {
  scenes: 'teaching',
  views: 'teaching',
  showcase: 0,
  models: { cosmos: { ...cosmosCard, evaluate: evaluate('cosmos') }, clip: { ...clipCard, evaluate: evaluate('clip') } },
};
manifest.showcase = await showcase(manifest.models.cosmos.evaluate);
writeFileSync(join(OUT, 'demo.json'), `${JSON.stringify(manifest, null, 2)}\n`);
rmSync(WORK, { recursive: true });
console.log(JSON.stringify(manifest, null, 2));
