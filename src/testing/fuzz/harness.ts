/**
 * Runs fuzz cases and says what each came to: read (the reader accepted the mutated file), refused (a FileError
 * or UserDataError in one line that names the file), or a failure: a crash (anything else thrown), too slow, or
 * unbounded (the reader read or decoded more than its budget allows for the file's size: READ_BUDGET, or the
 * target's own where the format expands further). Case `i` of a target is
 * the same file on every run for one seed, so that a failure can be replayed (scripts/fuzz.ts --replay).
 */
import { FileError } from '../../fileError.ts';
import { errorMessage } from '../../format.ts';
import { type Random, rng } from '../../data/random.ts';
import { UserDataError } from '../../data/userData.ts';
import { type FuzzCase, type FuzzTarget, READ_BUDGET } from './targets.ts';

export type Outcome = 'read' | 'refused' | 'crash' | 'slow' | 'unbounded';
export const FAILURES: readonly Outcome[] = ['crash', 'slow', 'unbounded'];

export interface CaseResult {
  target: string;
  index: number;
  outcome: Outcome;
  ms: number;
  /** The refusal's sentence, or what went wrong. */
  message?: string;
  /** Files of a data set the reader skipped, and why (the data set itself was read). */
  skipped?: string[];
}

/** The case's own random stream: from the run's seed, the target's name and the case's index. */
export function caseRandom(seed: number, target: string, index: number): Random {
  let h = seed >>> 0;
  for (const c of `${target}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return rng(h);
}

/** A refusal as the readers promise one: a typed error, one line, naming the file (or the data set) and more. */
function isRefusal(error: unknown, c: FuzzCase): boolean {
  if (!(error instanceof FileError || error instanceof UserDataError)) return false;
  const names = [c.name, c.setName].filter((n): n is string => Boolean(n));
  const message = error.message;
  return !message.includes('\n') && names.some((name) => message.includes(name) && message.length > name.length + 12);
}

export async function runCase(target: FuzzTarget, index: number, seed: number, slowMs: number): Promise<CaseResult> {
  const random = caseRandom(seed, target.name, index);
  const c = await target.draw(random);
  const started = performance.now();
  let result: Omit<CaseResult, 'ms'>;
  try {
    const { bytesTouched, skipped } = await target.read(c, random);
    const budget = (target.bytesPerByte ?? READ_BUDGET.perByte) * c.bytes.length + READ_BUDGET.slack;
    result =
      bytesTouched > budget
        ? { target: target.name, index, outcome: 'unbounded', message: `read or decoded ${bytesTouched} bytes of a ${c.bytes.length}-byte file` }
        : { target: target.name, index, outcome: 'read', skipped };
  } catch (error) {
    const message = errorMessage(error);
    result = isRefusal(error, c)
      ? { target: target.name, index, outcome: 'refused', message }
      : { target: target.name, index, outcome: 'crash', message: `${(error as Error)?.name ?? typeof error}: ${message}\n${(error as Error)?.stack ?? ''}` };
  }
  const ms = performance.now() - started;
  if (ms > slowMs && result.outcome !== 'crash') result = { ...result, outcome: 'slow', message: `took ${ms.toFixed(0)} ms (${result.outcome})` };
  return { ...result, ms };
}

/** A refusal's sentence with the file's name, numbers and quoted names taken out: what kind of problem it is. */
export function refusalKind(message: string, names: readonly string[]): string {
  let kind = message;
  for (const name of names) kind = kind.split(name).join('<file>');
  return kind
    .replace(/"[^"]*"|`[^`]*`/g, '"…"')
    .replace(/\b[0-9a-f]{6,}\b|-?\d+(\.\d+)?(e[+-]?\d+)?/gi, 'N')
    .slice(0, 110);
}

export interface TargetStats {
  target: string;
  reader: string;
  cases: number;
  outcomes: Record<Outcome, number>;
  slowestMs: number;
  totalMs: number;
  /** Refusals and skipped files, by kind of sentence. */
  kinds: Map<string, number>;
  /** Cases the reader refused, or read with files skipped. */
  turnedAway: number;
  failures: CaseResult[];
}

export function emptyStats(target: FuzzTarget): TargetStats {
  return {
    target: target.name,
    reader: target.reader,
    cases: 0,
    outcomes: { read: 0, refused: 0, crash: 0, slow: 0, unbounded: 0 },
    slowestMs: 0,
    totalMs: 0,
    kinds: new Map(),
    turnedAway: 0,
    failures: [],
  };
}

export function record(stats: TargetStats, result: CaseResult, names: readonly string[]): void {
  stats.cases++;
  stats.outcomes[result.outcome]++;
  stats.slowestMs = Math.max(stats.slowestMs, result.ms);
  stats.totalMs += result.ms;
  const sentences = result.outcome === 'refused' ? [result.message!] : (result.skipped ?? []).map((reason) => `skipped: ${reason}`);
  for (const sentence of sentences) {
    const kind = refusalKind(sentence, names);
    stats.kinds.set(kind, (stats.kinds.get(kind) ?? 0) + 1);
  }
  if (sentences.length) stats.turnedAway++;
  if (FAILURES.includes(result.outcome) && stats.failures.length < 20) stats.failures.push(result);
}
