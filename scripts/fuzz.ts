/**
 * The fuzz suite by the million: `node --import tsx --import ./scripts/wgsl-hooks.mjs scripts/fuzz.ts [--cases N]
 * [--seed S] [--workers W] [--json FILE]` runs N cases (1,000,000 by default) over every reader, shared as the CI
 * run shares its 10,000 (CASE_SHARES), in worker processes. A watchdog kills a worker whose case runs past
 * HANG_MS (a hang) or that dies (past its heap limit: out of memory), and goes on from the next case.
 * Prints, per target, the cases, what they came to and the commonest kinds of refusal; `--replay target:index`
 * runs one case in this thread and prints its outcome and file.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type CaseResult, FAILURES, type Outcome, type TargetStats, caseRandom, emptyStats, record, runCase } from '../src/testing/fuzz/harness.ts';
import { CASE_FILE_NAMES, CASE_SHARES, fuzzTargets } from '../src/testing/fuzz/targets.ts';

const SLOW_MS = 10_000;
const HANG_MS = 60_000;
const HEAP_MB = 2048;
const CHUNK = 200;

interface Chunk {
  target: string;
  from: number;
  to: number;
  seed: number;
}

type FromWorker = { type: 'ready' } | { type: 'case'; index: number } | { type: 'done'; stats: SerialStats };
type SerialStats = Omit<TargetStats, 'kinds'> & { kinds: [string, number][] };

function flag(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : undefined;
}

async function workerMain(): Promise<void> {
  console.warn = () => {};
  const targets = new Map((await fuzzTargets()).map((t) => [t.name, t]));
  const send = (message: FromWorker) => process.send!(message);
  process.on('message', async (chunk: Chunk) => {
    const target = targets.get(chunk.target)!;
    const stats = emptyStats(target);
    for (let i = chunk.from; i < chunk.to; i++) {
      send({ type: 'case', index: i });
      record(stats, await runCase(target, i, chunk.seed, SLOW_MS), CASE_FILE_NAMES);
    }
    send({ type: 'done', stats: { ...stats, kinds: [...stats.kinds] } });
  });
  send({ type: 'ready' });
}

function merge(into: TargetStats, from: SerialStats): void {
  into.cases += from.cases;
  for (const k of Object.keys(into.outcomes) as Outcome[]) into.outcomes[k] += from.outcomes[k];
  into.slowestMs = Math.max(into.slowestMs, from.slowestMs);
  into.totalMs += from.totalMs;
  into.turnedAway += from.turnedAway;
  for (const [kind, n] of from.kinds) into.kinds.set(kind, (into.kinds.get(kind) ?? 0) + n);
  into.failures.push(...from.failures.slice(0, Math.max(0, 20 - into.failures.length)));
}

/** Failures the watchdog saw: a case that never ended, a worker that ran out of heap. */
const watchdogFailures = new Map<string, (CaseResult & { kind: 'hang' | 'out of memory' })[]>();

async function mainThread(): Promise<void> {
  const total = Number(flag('cases') ?? 1_000_000);
  const seed = Number(flag('seed') ?? 14);
  const workers = Number(flag('workers') ?? availableParallelism());
  const targets = await fuzzTargets();
  const shares = Object.values(CASE_SHARES).reduce((a, b) => a + b, 0);
  const chunks: (Chunk & { progress: number })[] = [];
  for (const t of targets) {
    const count = Math.round((total * CASE_SHARES[t.name]!) / shares);
    for (let from = 0; from < count; from += CHUNK) chunks.push({ target: t.name, from, to: Math.min(count, from + CHUNK), seed, progress: from / count });
  }
  // Every target advances at its share's pace, so that a run stopped early has met each reader alike.
  const queue: Chunk[] = chunks.sort((a, b) => a.progress - b.progress).map(({ progress: _, ...chunk }) => chunk);
  const stats = new Map(targets.map((t) => [t.name, emptyStats(t)]));
  const started = performance.now();
  let done = 0;
  let lastReport = started;
  // SIGTERM ends the run early: the chunks in flight finish, and the report covers the cases run.
  process.on('SIGTERM', () => {
    process.stderr.write(`stopping early: the ${queue.length} chunks not started are dropped\n`);
    queue.length = 0;
  });

  const runWorker = (): Promise<void> =>
    new Promise((resolve) => {
      const worker: ChildProcess = fork(fileURLToPath(import.meta.url), ['--worker'], {
        execArgv: ['--import', 'tsx', '--import', './scripts/wgsl-hooks.mjs', `--max-old-space-size=${HEAP_MB}`],
      });
      let chunk: Chunk | null = null;
      let current = { index: -1, since: performance.now() };
      let ended = false;
      const finish = (then: () => void) => {
        ended = true;
        clearInterval(watchdog);
        worker.kill('SIGKILL');
        then();
      };
      const next = () => {
        chunk = queue.shift() ?? null;
        if (chunk) worker.send(chunk);
        else finish(resolve);
      };
      /** The case in flight took the worker down: count it, then go on from the next case in a fresh worker. */
      const lose = (kind: 'hang' | 'out of memory', detail: string) => {
        const c = chunk!;
        const list = watchdogFailures.get(c.target) ?? [];
        list.push({ target: c.target, index: current.index, outcome: 'crash', ms: performance.now() - current.since, message: detail, kind });
        watchdogFailures.set(c.target, list);
        if (current.index + 1 < c.to) queue.unshift({ ...c, from: current.index + 1 });
        finish(() => void runWorker().then(resolve));
      };
      const watchdog = setInterval(() => {
        if (chunk && current.index >= 0 && performance.now() - current.since > HANG_MS) lose('hang', `still running after ${HANG_MS} ms`);
      }, 1000);
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') return next();
        if (message.type === 'case') {
          current = { index: message.index, since: performance.now() };
          return;
        }
        merge(stats.get(message.stats.target)!, message.stats);
        done += message.stats.cases;
        if (performance.now() - lastReport > 30_000) {
          lastReport = performance.now();
          process.stderr.write(`${done} of ${total} cases, ${((lastReport - started) / 1000).toFixed(0)} s\n`);
        }
        current = { index: -1, since: performance.now() };
        next();
      });
      worker.on('exit', (code, signal) => {
        if (ended) return;
        if (!chunk || current.index < 0) throw new Error(`a fuzz worker exited before its first case (${code ?? signal})`);
        lose('out of memory', `the worker died (${code ?? signal}) in this case`);
      });
    });

  await Promise.all(Array.from({ length: workers }, runWorker));
  report(stats, (performance.now() - started) / 1000, done, seed, workers);
}

function report(stats: Map<string, TargetStats>, seconds: number, total: number, seed: number, workers: number): void {
  const rows = [...stats.values()];
  const lost = (name: string, kind: string) => (watchdogFailures.get(name) ?? []).filter((f) => f.kind === kind).length;
  const lines = [
    `${total.toLocaleString('en-US')} cases, seed ${seed}, ${workers} worker processes, ${seconds.toFixed(0)} s`,
    '',
    '| target | reader | cases | read | refused | crashes | hangs | too slow | unbounded | out of memory | slowest ms |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows.map(
      (s) =>
        `| ${s.target} | ${s.reader} | ${s.cases + lost(s.target, 'hang') + lost(s.target, 'out of memory')} | ${s.outcomes.read} | ${s.outcomes.refused} | ` +
        `${s.outcomes.crash} | ${lost(s.target, 'hang')} | ${s.outcomes.slow} | ${s.outcomes.unbounded} | ${lost(s.target, 'out of memory')} | ${s.slowestMs.toFixed(0)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  for (const s of rows) {
    console.log(`\n${s.target}: ${s.kinds.size} kinds of refusal or skipped file; the commonest:`);
    for (const [kind, n] of [...s.kinds].sort((a, b) => b[1] - a[1]).slice(0, 5)) console.log(`  ${n}  ${kind}`);
    for (const f of [...s.failures, ...(watchdogFailures.get(s.target) ?? [])]) console.log(`  FAILURE case ${f.index}: ${f.outcome} ${f.message}`);
  }
  const json = flag('json');
  if (json) {
    const serial = rows.map((s) => ({ ...s, kinds: Object.fromEntries(s.kinds), watchdog: watchdogFailures.get(s.target) ?? [] }));
    writeFileSync(json, `${JSON.stringify({ total, seed, workers, seconds, targets: serial }, null, 1)}\n`);
  }
  const failed = rows.some((s) => FAILURES.some((f) => s.outcomes[f] > 0)) || watchdogFailures.size > 0;
  process.exitCode = failed ? 1 : 0;
}

async function replay(spec: string): Promise<void> {
  const [name, index] = spec.split(':');
  const seed = Number(flag('seed') ?? 14);
  const target = (await fuzzTargets()).find((t) => t.name === name);
  if (!target) throw new Error(`no fuzz target ${name}`);
  const c = await target.draw(caseRandom(seed, target.name, Number(index)));
  const out = flag('out');
  if (out) writeFileSync(out, c.bytes);
  console.log(JSON.stringify({ ...(await runCase(target, Number(index), seed, SLOW_MS)), file: c.name, bytes: c.bytes.length, written: out ?? null }, null, 1));
}

if (process.argv.includes('--worker')) await workerMain();
else if (flag('replay')) await replay(flag('replay')!);
else await mainThread();
