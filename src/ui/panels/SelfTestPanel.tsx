import { formatMs } from '../format.ts';
import type { SelfTestResult } from '../../worker/protocol.ts';
import { type SelfTestState, useAppStore } from '../store.ts';
import { Panel } from './Panel.tsx';

const BADGE: Record<SelfTestState['status'], { text: string; tone: string }> = {
  idle: { text: 'not run', tone: 'badge' },
  running: { text: 'running', tone: 'badge' },
  passed: { text: 'passed', tone: 'badge badge-ok' },
  failed: { text: 'failed', tone: 'badge badge-bad' },
  error: { text: 'error', tone: 'badge badge-bad' },
};

/** saxpy (y = a·x + y) on the GPU, read back and compared with the same sum in JavaScript. */
export function SelfTestPanel() {
  const selfTest = useAppStore((s) => s.selfTest);
  const ready = useAppStore((s) => s.phase === 'ready');
  const lost = useAppStore((s) => s.lost !== null);
  const rerun = useAppStore((s) => s.runSelfTest);
  const badge = BADGE[selfTest.status];

  return (
    <Panel
      title="GPU self-test"
      testId="selftest-panel"
      aside={
        <span className={badge.tone} data-testid="selftest-status" data-status={selfTest.status}>
          {badge.text}
        </span>
      }
    >
      <p className="muted">
        Uploads two vectors, runs the <code>saxpy</code> compute shader (y = a·x + y), reads the result back and compares it with JavaScript.
      </p>
      <SelfTestBody state={selfTest} ready={ready} />
      <button type="button" data-testid="selftest-rerun" onClick={() => void rerun()} disabled={!ready || lost || selfTest.status === 'running'}>
        {selfTest.status === 'running' ? 'Running…' : selfTest.status === 'idle' ? 'Run self-test' : 'Run again'}
      </button>
    </Panel>
  );
}

function SelfTestBody({ state, ready }: { state: SelfTestState; ready: boolean }) {
  switch (state.status) {
    case 'idle':
      return <p data-testid="selftest-detail">{ready ? 'Starting…' : 'Waits for a WebGPU device.'}</p>;
    case 'running':
      return <p data-testid="selftest-detail">Running on the GPU…</p>;
    case 'error':
      return (
        <p className="error-text" data-testid="selftest-error" role="alert">
          {state.message}
        </p>
      );
    default:
      return <SelfTestNumbers result={state.result} />;
  }
}

function SelfTestNumbers({ result }: { result: SelfTestResult }) {
  return (
    <>
      <dl className="facts" data-testid="selftest-detail">
        <dt>Elements</dt>
        <dd data-testid="selftest-n" data-value={result.n}>
          {result.n.toLocaleString('en-US')}
        </dd>
        <dt>a</dt>
        <dd>{result.a}</dd>
        <dt>Max |GPU − JS|</dt>
        <dd data-testid="selftest-max-error" data-value={result.maxError}>
          {result.maxError === 0 ? '0' : result.maxError.toExponential(2)}
        </dd>
        <dt>Mismatches</dt>
        <dd data-testid="selftest-mismatches" data-value={result.mismatches}>
          {result.mismatches} (tolerance {result.tolerance.toExponential(1)} relative)
        </dd>
        <dt>Time</dt>
        <dd data-testid="selftest-time">{formatMs(result.ms)}</dd>
      </dl>
      <table className="sample" data-testid="selftest-sample">
        <thead>
          <tr>
            <th>i</th>
            <th>GPU</th>
            <th>JS</th>
          </tr>
        </thead>
        <tbody>
          {result.sample.map((s) => (
            <tr key={s.i}>
              <td>{s.i}</td>
              <td>{s.gpu.toPrecision(7)}</td>
              <td>{s.js.toPrecision(7)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
