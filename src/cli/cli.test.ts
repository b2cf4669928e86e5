/**
 * The command line itself: flag parsing, usage and error reporting (one line on stderr, exit code 1, nothing on
 * stdout), and the real entry point (`npm run cosmos`) in a child process: clean JSON on stdout, clean exit.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTestGpu } from '../testing/gpu.ts';
import { UsageError, parseFlags, synopsis } from './args.ts';
import { cli, tempDir, writeTestCheckpoint, writeTestPng } from '../testing/cli.ts';

const runtime = setupTestGpu();
const ROOT = join(import.meta.dirname, '..', '..');
const tmp = tempDir();
const CKPT = join(tmp.dir, 'tiny.pt');
const IMAGE = join(tmp.dir, 'a.png');

beforeAll(async () => {
  await writeTestCheckpoint(CKPT);
  await writeTestPng(IMAGE, 37, 23, 0);
});
afterAll(() => tmp.remove());

/** `npm run cosmos -- ...` without npm: the same node command line as package.json's script. */
function cosmos(...args: string[]) {
  const run = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

describe('flags', () => {
  const specs = {
    checkpoint: { kind: 'string', required: true },
    weights: { kind: 'string', choices: ['student', 'teacher'] },
    text: { kind: 'list' },
    scale: { kind: 'number', min: 0 },
    csa: { kind: 'switch' },
  } as const;

  it('values, lists up to the next flag, --name=value, repeated lists, switches', () => {
    const flags = parseFlags(['--text', 'a b', 'c', '--checkpoint=x.pt', '--csa', '--text=--odd', '--scale', '2.5'], specs);
    expect(flags).toEqual({ checkpoint: 'x.pt', weights: undefined, text: ['a b', 'c', '--odd'], scale: 2.5, csa: true });
  });

  it('refuses what it does not know, with the problem named', () => {
    const fails = (argv: string[]) => {
      try {
        parseFlags(argv, specs);
      } catch (e) {
        expect(e).toBeInstanceOf(UsageError);
        return (e as Error).message;
      }
      throw new Error('no error');
    };
    expect(fails(['--frob'])).toBe('unknown flag --frob');
    expect(fails(['x.pt'])).toBe('unexpected argument "x.pt"');
    expect(fails(['--csa'])).toBe('--checkpoint is required');
    expect(fails(['--checkpoint'])).toBe('--checkpoint needs a value');
    expect(fails(['--checkpoint', 'a', '--checkpoint', 'b'])).toBe('--checkpoint is given twice');
    expect(fails(['--checkpoint', 'a', '--weights', 'both'])).toBe('--weights must be student or teacher, not "both"');
    expect(fails(['--checkpoint', 'a', '--scale', 'big'])).toBe('--scale must be a number, not "big"');
    expect(fails(['--checkpoint', 'a', '--scale', '-1'])).toBe('--scale must be at least 0, not -1');
    expect(fails(['--checkpoint', 'a', '--csa=yes'])).toBe('--csa takes no value');
  });

  it('usage line', () => {
    expect(synopsis(specs)).toBe('--checkpoint V [--weights student|teacher] [--text V...] [--scale V] [--csa]');
  });
});

describe('errors: one line on stderr, exit code 1, stdout empty', () => {
  const cases: [string, string[], RegExp][] = [
    ['missing checkpoint', ['inspect', '--checkpoint', 'nope.pt', '--json'], /^cosmos inspect: nope\.pt: cannot open the checkpoint \(ENOENT\)$/],
    ['not a checkpoint', ['inspect', '--checkpoint', 'package.json'], /^cosmos inspect: package\.json is neither a PyTorch \.pt checkpoint/],
    ['missing image', ['embed', '--checkpoint', 'CKPT', '--image', 'nope.png', '--text', 'x'], /^cosmos embed: nope\.png: cannot read the file \(ENOENT\)$/],
    [
      'not an image',
      ['embed', '--checkpoint', 'CKPT', '--image', 'package.json', '--text', 'x'],
      /^cosmos embed: package\.json: not a readable PNG, JPEG or WebP image/,
    ],
    [
      'bad config',
      ['embed', '--checkpoint', 'CKPT', '--config', 'package.json', '--image', 'IMAGE', '--text', 'x'],
      /^cosmos embed: package\.json: Model config: embed_dim/,
    ],
    [
      'no teacher',
      ['embed', '--checkpoint', 'EXPORTED', '--weights', 'teacher', '--image', 'IMAGE', '--text', 'x'],
      /^cosmos embed: exported\.safetensors is a safetensors file of one set of weights, with no teacher$/,
    ],
    [
      'one class named twice',
      ['classify', '--checkpoint', 'CKPT', '--image', 'IMAGE', '--classes', 'cat,,dog, cat'],
      /^cosmos classify: "cat" is named twice: give each class once\.$/,
    ],
  ];
  for (const [name, argv, message] of cases) {
    it(name, async () => {
      const exported = join(tmp.dir, 'exported.safetensors');
      if (argv.includes('EXPORTED')) expect((await cli(runtime, 'export', '--checkpoint', CKPT, '--out', exported)).code).toBe(0);
      const paths: Record<string, string> = { CKPT, IMAGE, EXPORTED: exported };
      const run = await cli(runtime, ...argv.map((a) => paths[a] ?? a));
      const lines = run.stderr.trimEnd().split('\n');
      expect(run.code).toBe(1);
      expect(run.stdout).toBe('');
      expect(lines.at(-1)).toMatch(message);
      expect(lines.filter((l) => l.startsWith('cosmos'))).toHaveLength(1);
    });
  }

  it('a usage mistake adds the usage line', async () => {
    const run = await cli(runtime, 'embed', '--checkpoint', CKPT, '--image', IMAGE);
    expect(run.stderr).toBe(
      'cosmos embed: --text is required\n' +
        'usage: cosmos embed --checkpoint F.pt|DIR [--weights student|teacher] [--config C.json] --image I.png... --text T... [--attention] [--json]\n',
    );
  });

  it('a text outside a small vocabulary', async () => {
    const run = await cli(
      runtime,
      'embed',
      '--checkpoint',
      join(ROOT, 'fixtures/cosmos/tiny.pt'),
      '--config',
      join(ROOT, 'fixtures/cosmos/tiny-config.json'),
      '--image',
      IMAGE,
      '--text',
      'a cat',
    );
    expect(run.stderr.trimEnd().split('\n').at(-1)).toBe(
      'cosmos embed: the text "a cat" has token id 49406, but this model\'s vocabulary has only 500 ids (the CLIP tokenizer needs 49408): ' +
        'load a model with the full CLIP vocabulary',
    );
  });
});

describe('the entry point, in a child process', () => {
  it('embed --json: only JSON on stdout, progress on stderr, exit 0', () => {
    const run = cosmos('embed', '--checkpoint', CKPT, '--image', IMAGE, '--text', 'a cat', 'a dog', '--json');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, number[][]>;
    expect(Object.keys(out)).toEqual(['tokens', 'image_embeddings', 'text_embeddings', 'logits']);
    expect(out.logits!.map((row) => row.length)).toEqual([2]);
    expect(run.stderr).toMatch(/student weights, 59\/59 tensors/);
  });

  it('--help exits 0; an unknown command prints the usage and exits 1', () => {
    const help = cosmos('--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^usage: cosmos <command>/);
    for (const command of ['tokenize', 'embed', 'inspect', 'export', 'classify', 'retrieve', 'segment', 'loss']) expect(help.stdout).toContain(`  ${command} `);
    const unknown = cosmos('frob');
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toMatch(/^cosmos: unknown command "frob"; commands: tokenize, embed/);
  });
});
