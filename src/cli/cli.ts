/**
 * The `cosmos` command line: finds the command, parses its flags, runs it, and turns every failure into one line
 * on stderr and exit code 1 (usage mistakes add the command's usage line). Returns the exit code.
 */
import { errorMessage } from '../format.ts';
import { installRuntime } from '../tensor/engine.ts';
import { EvaluationCancelled } from '../eval/benchmark/imageBatches.ts';
import { UsageError, parseFlags } from './args.ts';
import { classifyCommand } from './classify.ts';
import { type CliContext, type CliIo, type Command, JSON_FLAG, usageLine } from './command.ts';
import { embedCommand } from './embed.ts';
import { evalCommand } from './eval.ts';
import { evaluateCommand } from './evaluate.ts';
import { exportCommand } from './export.ts';
import { inspectCommand } from './inspect.ts';
import { lossCommand } from './loss.ts';
import { retrieveCommand } from './retrieve.ts';
import { scenesCommand } from './scenes.ts';
import { segmentCommand } from './segment.ts';
import { shardsCommand } from './shards.ts';
import { tokenizeCommand } from './tokenize.ts';
import { trainCommand } from './train.ts';

export const COMMANDS: readonly Command[] = [
  tokenizeCommand,
  embedCommand,
  inspectCommand,
  exportCommand,
  classifyCommand,
  retrieveCommand,
  segmentCommand,
  lossCommand,
  trainCommand,
  evaluateCommand,
  evalCommand,
  shardsCommand,
  scenesCommand,
];

const USAGE = 'usage: cosmos <command> [flags] [--json]   (cosmos <command> --help for its flags)';

export function helpText(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    USAGE,
    '',
    'commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    '--json prints only JSON on stdout; progress and errors go to stderr.',
  ].join('\n');
}

/** An error as one line: messages from deeper layers may span several. */
export const oneLine = (error: unknown): string =>
  errorMessage(error)
    .replace(/\s*\n\s*/g, ' ')
    .trim();

/** Seconds between status lines where stderr is not a terminal (a log file, a test). */
const STATUS_EVERY_MS = 5000;

/** CliContext.status on `io`: in place on a terminal, else a line at most every few seconds. */
function statusWriter(io: CliIo): (line: string | null) => void {
  let shownAt = -Infinity;
  let showing = false;
  return (line) => {
    if (io.interactive) {
      if (line === null) {
        if (showing) io.stderr('\n');
        showing = false;
      } else {
        io.stderr(`\r\u001b[K${line}`);
        showing = true;
      }
      return;
    }
    if (line === null || performance.now() - shownAt < STATUS_EVERY_MS) return;
    shownAt = performance.now();
    io.stderr(`${line}\n`);
  };
}

/** Exit code of a command stopped at the user's request (Ctrl-C), as shells report SIGINT. */
export const CANCELLED_EXIT_CODE = 130;

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(`${helpText()}\n`);
    return name === undefined ? 1 : 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    io.stderr(`cosmos: unknown command ${JSON.stringify(name)}; commands: ${COMMANDS.map((c) => c.name).join(', ')}\n${USAGE}\n`);
    return 1;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout(`${command.summary}\n${usageLine(command)}\n`);
    return 0;
  }
  try {
    const flags = parseFlags(rest, { ...command.flags, ...JSON_FLAG });
    const json = flags.json as boolean;
    const status = statusWriter(io);
    const ctx: CliContext = {
      json,
      result: (value, text) => io.stdout(`${json ? JSON.stringify(value) : text()}\n`),
      progress: (line) => {
        status(null);
        io.stderr(`${line}\n`);
      },
      status,
      cancellation: () => io.cancellation?.(),
      gpu: async () => {
        const runtime = await io.runtime();
        installRuntime(runtime);
        return runtime;
      },
    };
    await command.run(flags, ctx);
    return 0;
  } catch (error) {
    if (io.interactive) io.stderr('\n');
    io.stderr(`cosmos ${command.name}: ${oneLine(error)}\n`);
    if (error instanceof UsageError) io.stderr(`${usageLine(command)}\n`);
    return error instanceof EvaluationCancelled ? CANCELLED_EXIT_CODE : 1;
  }
}
