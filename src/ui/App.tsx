import { type ReactNode, useEffect } from 'react';
import { Notices } from './Notices.tsx';
import { AdapterPanel } from './panels/AdapterPanel.tsx';
import { SelfTestPanel } from './panels/SelfTestPanel.tsx';
import { TrainPanel } from './panels/TrainPanel.tsx';
import { ViewsPanel } from './panels/ViewsPanel.tsx';
import { AttentionPanel } from './panels/AttentionPanel.tsx';
import { ComparePanel } from './panels/ComparePanel.tsx';
import { RetrievalPanel } from './panels/RetrievalPanel.tsx';
import { ZeroShotPanel } from './panels/ZeroShotPanel.tsx';
import { SegmentPanel } from './panels/SegmentPanel.tsx';
import { CheckpointsPanel } from './panels/CheckpointsPanel.tsx';
import { EvaluatePanel } from './panels/EvaluatePanel.tsx';
import { type GpuPhase, useAppStore } from './store.ts';
import type { Tab } from './url.ts';

const PHASE_TEXT: Record<GpuPhase, string> = {
  idle: 'starting',
  acquiring: 'looking for a GPU',
  ready: 'WebGPU ready',
  unavailable: 'no WebGPU',
  failed: 'GPU error',
};

/** The tabs, in order, and what each shows. */
const TAB_PANELS: Record<Tab, { label: string; panel: () => ReactNode }> = {
  train: { label: 'Train', panel: () => <TrainPanel /> },
  views: { label: 'Views', panel: () => <ViewsPanel /> },
  attention: { label: 'Attention', panel: () => <AttentionPanel /> },
  compare: { label: 'CLIP vs COSMOS', panel: () => <ComparePanel /> },
  retrieval: { label: 'Retrieval', panel: () => <RetrievalPanel /> },
  zeroshot: { label: 'Zero-shot', panel: () => <ZeroShotPanel /> },
  segment: { label: 'Segmentation', panel: () => <SegmentPanel /> },
  evaluate: { label: 'Evaluate', panel: () => <EvaluatePanel /> },
  checkpoints: { label: 'Checkpoints', panel: () => <CheckpointsPanel /> },
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

/** Sentences from the engine worker that answer no request: a failed step, a lost device, storage trouble. */
function EngineErrors() {
  const errors = useAppStore((s) => s.engineErrors);
  const dismiss = useAppStore((s) => s.dismissEngineError);
  return errors.map((text, i) => (
    <div key={`${i}-${text}`} className="notice notice-bad notice-row" role="alert" data-testid="engine-error">
      <span>{text}</span>
      <button type="button" className="quiet" onClick={() => dismiss(i)} aria-label="Dismiss">
        Dismiss
      </button>
    </div>
  ));
}

function Tabs() {
  const tab = useAppStore((s) => s.tab);
  const setTab = useAppStore((s) => s.setTab);
  return (
    <div className="tabs" role="tablist" aria-label="Panels">
      {(Object.keys(TAB_PANELS) as Tab[]).map((t) => (
        <button
          key={t}
          type="button"
          role="tab"
          id={`tab-${t}`}
          aria-selected={t === tab}
          aria-controls="tab-panel"
          className={t === tab ? 'tab tab-active' : 'tab'}
          data-testid={`tab-${t}`}
          onClick={() => setTab(t)}
        >
          {TAB_PANELS[t].label}
        </button>
      ))}
    </div>
  );
}

/** The shell: a header, tabs of panels, app-wide notices, and the device beside them. */
export function App() {
  const startEngine = useAppStore((s) => s.startEngine);
  const tab = useAppStore((s) => s.tab);
  useEffect(() => {
    startEngine();
  }, [startEngine]);

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
        <EngineErrors />
        <Tabs />
        <div className="layout">
          <div className="content" role="tabpanel" id="tab-panel" aria-labelledby={`tab-${tab}`}>
            {TAB_PANELS[tab].panel()}
          </div>
          <aside className="sidebar" aria-label="Device">
            <AdapterPanel />
            <SelfTestPanel />
          </aside>
        </div>
      </main>
    </div>
  );
}
