import { useEffect } from 'react';
import { Notices } from './Notices.tsx';
import { AdapterPanel } from './panels/AdapterPanel.tsx';
import { SelfTestPanel } from './panels/SelfTestPanel.tsx';
import { type GpuPhase, browserGpu, useAppStore } from './store.ts';

const PHASE_TEXT: Record<GpuPhase, string> = {
  idle: 'starting',
  acquiring: 'looking for a GPU',
  ready: 'WebGPU ready',
  unavailable: 'no WebGPU',
  failed: 'GPU error',
};

function GpuStatus() {
  const phase = useAppStore((s) => s.phase);
  const lost = useAppStore((s) => s.lost !== null);
  const text = lost ? 'device lost' : PHASE_TEXT[phase];
  const tone = lost || phase === 'unavailable' || phase === 'failed' ? 'bad' : phase === 'ready' ? 'ok' : 'idle';
  return (
    <span className={`status status-${tone}`} data-testid="gpu-status" data-phase={phase}>
      <span className="status-dot" aria-hidden="true" />
      {text}
    </span>
  );
}

/** The shell: a header, app-wide notices, and a grid of panels. */
export function App() {
  const connect = useAppStore((s) => s.connect);
  useEffect(() => {
    void connect(browserGpu());
  }, [connect]);

  return (
    <div className="app">
      <header className="app-header">
        <div className="brand">
          <h1>cosmos-web</h1>
          <p className="tagline" data-testid="tagline">
            Train, fine-tune, run and explain COSMOS vision-language models in your browser, on WebGPU.
          </p>
        </div>
        <GpuStatus />
      </header>
      <main className="app-main">
        <Notices />
        <div className="panels">
          <AdapterPanel />
          <SelfTestPanel />
        </div>
      </main>
    </div>
  );
}
