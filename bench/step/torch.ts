/**
 * The PyTorch rows of `npm run bench:step`: scripts/bench_step_torch.py (the COSMOS reference's own model, loss and
 * step) on the same architecture, mode, batch shapes and hyperparameters as our case. OpenBLAS's core-type and L2
 * overrides, which these machines set, are dropped for that command only: with them OpenBLAS runs slower kernels.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { toOpenClipConfig } from '../../src/cosmos/config.ts';
import { PRESETS } from '../../src/cosmos/presets.ts';
import { PYTHON, lastLine, pythonProbe } from '../../src/testing/python.ts';
import { type StepCase, caseOptions } from './cases.ts';
import { type StepRow, stepRow } from './rows.ts';

const SCRIPT = join(import.meta.dirname, '..', '..', 'scripts', 'bench_step_torch.py');
/** ViT-B/32 builds two 150M-parameter models and times steps on 1 and 2 threads: minutes on these machines. */
const TIMEOUT_MS = 30 * 60_000;

interface TorchResult {
  adapter: string;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  gflop: number;
}

function torchEnv(): NodeJS.ProcessEnv {
  const { OPENBLAS_CORETYPE: _, OPENBLAS_L2_SIZE: __, ...env } = process.env;
  return env;
}

/** Why the PyTorch rows cannot run here (torch or the reference's needs do not import), or null. */
export const torchUnavailable = (): string | null => pythonProbe(SCRIPT);

export function torchStep(c: StepCase): StepRow {
  const options = caseOptions(c);
  const spec = {
    config: toOpenClipConfig(PRESETS[c.preset]),
    mode: c.mode,
    batch: c.batch,
    local_size: options.localSize,
    local_count: options.localCount,
    warmup: c.warmup,
    reps: c.reps,
    lr: options.lr,
    weight_decay: options.weightDecay,
    momentum: options.momentum,
  };
  const run = spawnSync(PYTHON, [SCRIPT, JSON.stringify(spec)], { encoding: 'utf8', env: torchEnv(), timeout: TIMEOUT_MS, maxBuffer: 1 << 24 });
  if (run.error || run.status !== 0) {
    throw new Error(`scripts/bench_step_torch.py failed on ${c.preset} ${c.mode}: ${run.error?.message ?? lastLine(run.stderr)}`);
  }
  const result = JSON.parse(lastLine(run.stdout)) as TorchResult;
  return stepRow(
    c,
    { medianMs: result.median_ms, minMs: result.min_ms, maxMs: result.max_ms, dataMs: null, dispatches: null, submits: null, flops: result.gflop * 1e9 },
    { impl: 'pytorch', runtime: 'torch', adapter: result.adapter },
  );
}
