/**
 * Test support for the CLI: a tiny COSMOS checkpoint with the full CLIP vocabulary in the released layout
 * (student with the DDP "module." prefix, teacher, epoch, name, optimizer), PNG images, and runCli with its
 * output captured.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pngjs from 'pngjs';
import { fileSink } from '../checkpoint/nodeFiles.ts';
import { writeTorchCheckpoint } from '../checkpoint/torchWriter.ts';
import type { TensorSource } from '../checkpoint/tensorRef.ts';
import { type CosmosConfig, DEFAULT_NUMERICS } from '../cosmos/config.ts';
import { type ClipModel, cosmosModel } from '../cosmos/model.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { runCli } from '../cli/cli.ts';

/** Tower heads 64 wide and OpenCLIP's 8 pooler heads, so the shapes imply it; 49408 ids, so real captions fit. */
export const CLI_TEST_CONFIG: CosmosConfig = {
  embedDim: 64,
  vision: { imageSize: 32, patchSize: 8, width: 64, layers: 1, heads: 1, mlpWidth: 128, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
  text: { contextLength: 77, vocabSize: 49408, width: 64, layers: 1, heads: 1, mlpWidth: 128, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
};

export function tempDir(): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'cosmos-cli-'));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

function stateDict(model: ClipModel, prefix: string): Map<string, TensorSource> {
  return new Map(model.namedParameters().map(([name, t]) => [prefix + name, { shape: t.shape, read: () => t.readFloat() }]));
}

/** Writes {"epoch", "name", "student", "teacher", "optimizer"} with different student and teacher weights. */
export async function writeTestCheckpoint(path: string, config = CLI_TEST_CONFIG): Promise<void> {
  const student = cosmosModel(config, 1);
  const teacher = cosmosModel(config, 2);
  try {
    const tree = {
      epoch: 2,
      name: 'cli-test',
      student: stateDict(student, 'module.'),
      teacher: stateDict(teacher, ''),
      optimizer: { state: new Map(), param_groups: [] },
    };
    await writeTorchCheckpoint(tree, await fileSink(path));
  } finally {
    student.dispose();
    teacher.dispose();
  }
}

/** An RGB PNG of smooth colour gradients, different for each seed. */
export async function writeTestPng(path: string, width: number, height: number, seed: number): Promise<void> {
  const png = new pngjs.PNG({ width, height });
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 4;
      png.data[p] = (x * 255) / width;
      png.data[p + 1] = (y * 255) / height;
      png.data[p + 2] = 128 + 127 * Math.sin((x + y + seed * 7) / 5);
      png.data[p + 3] = 255;
    }
  }
  await writeFile(path, pngjs.PNG.sync.write(png));
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** runCli in this process on the test's GPU runtime. */
export async function cli(runtime: () => GpuRuntime, ...argv: string[]): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    runtime: async () => runtime(),
  });
  return { code, stdout, stderr };
}

/** The JSON result of a successful run. */
export async function cliJson<T = Record<string, unknown>>(runtime: () => GpuRuntime, ...argv: string[]): Promise<T> {
  const run = await cli(runtime, ...argv, '--json');
  if (run.code !== 0) throw new Error(`cosmos ${argv.join(' ')} failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout) as T;
}
