/**
 * `npm run cosmos -- <command> ...`: the CLI in this process, on Dawn's WebGPU (started only by commands that use
 * the GPU, and destroyed before exit). Unexpected failures still end as one line on stderr and exit code 1.
 */
import { createNodeRuntime, nodeChoiceStore } from '../gpu/node.ts';
import type { GpuRuntime } from '../gpu/runtime.ts';
import { installRuntime } from '../tensor/engine.ts';
import { tuneKernels } from '../tensor/tuneKernels.ts';
import { oneLine, runCli } from './cli.ts';

const gpu: { started: Promise<GpuRuntime> | null } = { started: null };

/** The runtime with this adapter's kernel family measured (once per machine, then read back; tuneKernels). */
async function withMeasuredKernels(runtime: GpuRuntime): Promise<GpuRuntime> {
  installRuntime(runtime);
  await tuneKernels(nodeChoiceStore());
  return runtime;
}

const fail = (error: unknown) => {
  process.stderr.write(`cosmos: ${oneLine(error)}\n`);
  process.exit(1);
};
process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);

// Ctrl-C ends the process, unless the command asked for the cancellation signal (eval): then the first one asks
// it to stop after its current batch, and a second one ends the process at once.
const stop = new AbortController();
let graceful = false;
process.on('SIGINT', () => {
  if (!graceful || stop.signal.aborted) process.exit(130);
  process.stderr.write('\nstopping after the current batch (Ctrl-C again to quit at once)\n');
  stop.abort();
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  // A lost device is replaced: `train` goes on from its last save on the new one.
  runtime: async () => {
    const current = await gpu.started?.catch(() => null);
    if (!current || current.isLost) gpu.started = createNodeRuntime().then(withMeasuredKernels);
    return gpu.started!;
  },
  interactive: process.stderr.isTTY === true,
  cancellation: () => {
    graceful = true;
    return stop.signal;
  },
});
(await gpu.started?.catch(() => null))?.destroy();
process.exitCode = code;
