/** What a command is given: its parsed flags, and a context for output, progress and the GPU. */
import type { GpuRuntime } from '../gpu/runtime.ts';
import { type FlagSpecs, type FlagValues, synopsis } from './args.ts';

/** Where the CLI writes and where it gets its GPU: the process in main.ts, captured streams in tests. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** The WebGPU runtime, created on first use (commands that only read files never start one). */
  runtime(): Promise<GpuRuntime>;
  /** stderr is a terminal: a status line is rewritten in place instead of printed again and again. */
  interactive?: boolean;
  /**
   * The signal aborted when the user asks to stop (Ctrl-C). A command that stops cleanly between batches asks for
   * it; until one does, Ctrl-C ends the process at once.
   */
  cancellation?(): AbortSignal;
}

export interface CliContext {
  /** `--json`: stdout carries one JSON document and nothing else. */
  readonly json: boolean;
  /** Prints the result: the JSON value with --json, otherwise the text. */
  result(json: unknown, text: () => string): void;
  /** A progress or status line, on stderr (never mixed into the result). */
  progress(line: string): void;
  /**
   * A line that replaces the previous one (a progress bar): rewritten in place on a terminal, else printed at most
   * every few seconds; null ends it.
   */
  status(line: string | null): void;
  /** Aborted when the user asks the command to stop; asking for it makes Ctrl-C stop the command cleanly. */
  cancellation(): AbortSignal | undefined;
  /** Installs the GPU runtime as the engine's runtime. */
  gpu(): Promise<GpuRuntime>;
}

export interface Command<S extends FlagSpecs = FlagSpecs> {
  readonly name: string;
  readonly summary: string;
  /** Every command also takes --json and --help. */
  readonly flags: S;
  run(flags: FlagValues<S>, ctx: CliContext): Promise<void>;
}

/** Commands of different flag types in one table: each checks its own flags' types once, here. */
export function defineCommand<S extends FlagSpecs>(command: Command<S>): Command {
  return command as unknown as Command;
}

export const JSON_FLAG = { json: { kind: 'switch' } } as const;

export function usageLine(command: Command): string {
  return `usage: cosmos ${command.name} ${synopsis({ ...command.flags, ...JSON_FLAG })}`;
}
