import { toOpenClipConfig } from '../../cosmos/config.ts';
import { errorMessage } from '../../format.ts';
import { useEffect, useState } from 'react';
import { TrainingCharts } from '../charts/TrainingCharts.tsx';
import { formatBytes, formatCount } from '../../format.ts';
import { downloadBlob } from '../heatmap/draw.ts';
import type { StepPoint } from '../../worker/runLog.ts';
import { type AppState, useAppStore } from '../store.ts';
import { MODES, NUMBER_FIELDS, SCENE_KINDS, TRAIN_PRESETS, type TrainSettings, VIEW_RECIPE_NAMES, validNumber } from '../url.ts';
import { DataPicker } from './DataPicker.tsx';
import { Panel } from './Panel.tsx';
import { bestPointingMap, pointingMapName } from './pointingMap.ts';

type NumberKey = keyof typeof NUMBER_FIELDS;

/** Re-renders every `ms` while `active`: elapsed times and the first-step clock tick. */
function useNow(active: boolean, ms = 500): number {
  const [now, setNow] = useState(() => performance.now());
  useEffect(() => {
    if (!active) return;
    const id = setInterval(() => setNow(performance.now()), ms);
    return () => clearInterval(id);
  }, [active, ms]);
  return now;
}

function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** Median time of the recent steps, the best guess for the next ones (the first step's compile time aside). */
function recentStepMs(history: readonly StepPoint[]): number | null {
  const recent = history
    .slice(-11)
    .map((r) => r.stepMs)
    .sort((a, b) => a - b);
  return recent.length ? recent[Math.floor(recent.length / 2)]! : null;
}

const STATE_BADGE: Record<AppState['runState'], { text: string; tone: string }> = {
  empty: { text: 'no model', tone: 'badge' },
  ready: { text: 'ready', tone: 'badge badge-ok' },
  running: { text: 'training', tone: 'badge badge-run' },
  paused: { text: 'paused', tone: 'badge badge-warn' },
  stopped: { text: 'stopped', tone: 'badge' },
};

/** A number input that edits its draft freely and commits only valid values. */
function NumberField({
  field,
  label,
  value,
  disabled,
  onCommit,
  step,
}: {
  field: NumberKey;
  label: string;
  value: number;
  disabled: boolean;
  onCommit(v: number): void;
  step?: string;
}) {
  const [draft, setDraft] = useState(String(value));
  useEffect(() => setDraft(String(value)), [value]);
  const valid = validNumber(field, draft) !== null;
  const { min, max } = NUMBER_FIELDS[field];
  return (
    <label className="field">
      <span>{label}</span>
      <input
        type="number"
        inputMode="decimal"
        value={draft}
        min={min}
        max={max}
        step={step ?? (NUMBER_FIELDS[field].integer ? '1' : 'any')}
        disabled={disabled}
        aria-invalid={!valid}
        title={valid ? undefined : `A number from ${min} to ${max}`}
        data-testid={`setting-${NUMBER_FIELDS[field].key}`}
        onChange={(e) => {
          setDraft(e.target.value);
          const v = validNumber(field, e.target.value);
          if (v !== null) onCommit(v);
        }}
        onBlur={() => setDraft(String(value))}
      />
    </label>
  );
}

function Settings({ locked }: { locked: boolean }) {
  const settings = useAppStore((s) => s.settings);
  const setSettings = useAppStore((s) => s.setSettings);
  const number = (field: NumberKey, label: string, step?: string) => (
    <NumberField
      field={field}
      label={label}
      value={settings[field]}
      disabled={locked}
      onCommit={(v) => setSettings({ [field]: v } as Partial<TrainSettings>)}
      step={step}
    />
  );
  return (
    <fieldset className="settings" disabled={locked} data-testid="train-settings">
      <legend className="sr-only">Training settings</legend>
      <label className="field">
        <span>Preset</span>
        <select value={settings.preset} data-testid="setting-preset" onChange={(e) => setSettings({ preset: e.target.value as TrainSettings['preset'] })}>
          {TRAIN_PRESETS.map((p) => (
            <option key={p}>{p}</option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Mode</span>
        <select
          value={settings.mode}
          title="COSMOS: CLIP loss plus self-distillation from an EMA teacher. CLIP only: no teacher, no cross-attention."
          data-testid="setting-mode"
          onChange={(e) => setSettings({ mode: e.target.value as TrainSettings['mode'] })}
        >
          {MODES.map((m) => (
            <option key={m} value={m}>
              {m === 'cosmos' ? 'COSMOS' : 'CLIP only'}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Scenes</span>
        <select
          value={settings.scenes}
          title="The built-in scenes: all 300 emoji, or 24 distinct ones that a tiny model learns in minutes (the teaching set)."
          data-testid="setting-scenes"
          onChange={(e) => setSettings({ scenes: e.target.value as TrainSettings['scenes'] })}
        >
          {SCENE_KINDS.map((k) => (
            <option key={k} value={k}>
              {k === 'all' ? 'all 300 emoji' : 'teaching set (24)'}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Views</span>
        <select
          value={settings.views}
          title="How each step's image crops are drawn: COSMOS's recipe (flips, hue shifts, grayscale, solarization, crops down to 40%), or the teaching one that keeps the scenes' captions true (no flips, no hue shifts, crops of at least 80%)."
          data-testid="setting-views"
          onChange={(e) => setSettings({ views: e.target.value as TrainSettings['views'] })}
        >
          {VIEW_RECIPE_NAMES.map((k) => (
            <option key={k} value={k}>
              {k === 'cosmos' ? "COSMOS's" : 'teaching'}
            </option>
          ))}
        </select>
      </label>
      {number('lr', 'Learning rate', '0.0001')}
      {number('batchSize', 'Batch size')}
      {number('steps', 'Steps')}
      {number('localCount', 'Local crops')}
      {number('momentum', 'Teacher momentum', '0.001')}
      <label
        className="check"
        title="Train only the cross-attention poolers, the mappings and the projections: fine-tuning a loaded checkpoint keeps both towers as they are."
      >
        <input type="checkbox" checked={settings.freezeTowers} data-testid="setting-freeze" onChange={(e) => setSettings({ freezeTowers: e.target.checked })} />
        <span>Freeze both towers</span>
      </label>
    </fieldset>
  );
}

/**
 * The model's OpenCLIP config, every key named (the poolers' heads too), to keep beside the .pt: OpenCLIP's
 * `add_model_config` registers it under the file's name.
 */
function DownloadConfigButton() {
  const run = useAppStore((s) => s.run);
  if (!run) return null;
  const name = `cosmos-web-${run.preset ?? 'loaded'}.json`;
  const download = () => downloadBlob(new Blob([`${JSON.stringify(toOpenClipConfig(run.config), null, 2)}\n`], { type: 'application/json' }), name);
  return (
    <button type="button" data-testid="download-config-button" onClick={download} title={`${name}: the model's OpenCLIP config`}>
      Download config
    </button>
  );
}

function DemoLoadError() {
  const demoLoad = useAppStore((s) => s.demoLoad);
  if (demoLoad.status !== 'failed') return null;
  return (
    <p className="error-text" role="alert" data-testid="explore-error">
      {demoLoad.message}
    </p>
  );
}

/** One click to a model that has learned: the COSMOS demo model, opened in Attention on a held-out scene. */
function ExploreButton() {
  const demos = useAppStore((s) => s.demos);
  const demoLoad = useAppStore((s) => s.demoLoad);
  const explore = useAppStore((s) => s.explore);
  if (!demos) return null;
  const card = demos.models.cosmos;
  const percent = (x: number | null) => (x === null ? '–' : `${Math.round(x * 100)}%`);
  const best = bestPointingMap(card.evaluate);
  const pointing = best ? `, pointing game ${percent(best.value)} with ${pointingMapName(best)}` : '';
  return (
    <button
      type="button"
      className="big"
      data-testid="explore-button"
      disabled={demoLoad.status === 'loading'}
      onClick={() => void explore()}
      title={`The COSMOS demo model: trained ${Math.round(card.seconds / 60)} min on this page's engine (${card.steps} steps); held-out image-to-text R@1 ${percent(card.evaluate.i2t_r1)}${pointing}.`}
    >
      {demoLoad.status === 'loading' ? 'Loading the demo model…' : 'Explore a trained model'}
    </button>
  );
}

function Actions() {
  const runState = useAppStore((s) => s.runState);
  const engine = useAppStore((s) => s.engine);
  const { train, pause, resume, stop } = useAppStore.getState();
  const [exporting, setExporting] = useState(false);
  const [exportError, setExportError] = useState<string | null>(null);

  const download = async () => {
    if (!engine) return;
    setExporting(true);
    setExportError(null);
    try {
      const { blob, name } = await engine.exportCheckpoint();
      downloadBlob(blob, name);
    } catch (error) {
      setExportError(errorMessage(error));
    } finally {
      setExporting(false);
    }
  };

  const running = runState === 'running';
  const paused = runState === 'paused';
  return (
    <div className="actions">
      <div className="button-row">
        {!running && !paused && (
          <button type="button" className="primary big" data-testid="train-button" onClick={train} disabled={!engine}>
            {runState === 'stopped' ? 'Train again' : 'Train'}
          </button>
        )}
        {!running && !paused && <ExploreButton />}
        {running && (
          <button type="button" className="big" data-testid="pause-button" onClick={pause}>
            Pause
          </button>
        )}
        {paused && (
          <button type="button" className="primary big" data-testid="resume-button" onClick={resume}>
            Resume
          </button>
        )}
        {(running || paused) && (
          <button type="button" data-testid="stop-button" onClick={stop}>
            Stop
          </button>
        )}
        {paused && (
          <button type="button" data-testid="new-run-button" onClick={train}>
            New run
          </button>
        )}
        {(paused || runState === 'stopped') && (
          <button type="button" data-testid="download-button" onClick={() => void download()} disabled={exporting}>
            {exporting ? 'Writing .pt…' : 'Download .pt'}
          </button>
        )}
        {(paused || runState === 'stopped') && <DownloadConfigButton />}
      </div>
      {exportError && (
        <p className="error-text" role="alert">
          {exportError}
        </p>
      )}
      <DemoLoadError />
      <p className="muted small">
        {running
          ? 'Settings apply to the next run.'
          : paused
            ? 'Resume goes on; New run starts over with the settings.'
            : 'One click builds the model (if the settings changed) and trains it.'}
      </p>
    </div>
  );
}

/** Where the run stands: a progress bar with ETA, and what is happening right now in words. */
function Progress() {
  const runState = useAppStore((s) => s.runState);
  const step = useAppStore((s) => s.step);
  const history = useAppStore((s) => s.history);
  const building = useAppStore((s) => s.building);
  const run = useAppStore((s) => s.run);
  const savedStep = useAppStore((s) => s.savedStep);
  const dataName = useAppStore((s) => (s.dataSet.summary ? s.dataSet.name : `the ${s.dataSet.name}`));
  // The current step began when the run (re)started or when the last step ended, whichever is later.
  const stepStartedAt = useAppStore((s) => Math.max(s.playedAt ?? 0, s.lastStepAt ?? 0));
  const running = runState === 'running';
  const now = useNow(running);
  const total = run?.options.steps ?? 0;
  const perStep = recentStepMs(history);
  const sinceLast = now - stepStartedAt;

  let status: string;
  if (building) status = 'Building the model…';
  else if (!run) status = 'Starting the engine: GPU device, built-in scenes and tokenizer…';
  else if (runState === 'ready') status = `Ready: the ${run.preset ?? 'loaded'} model on ${dataName}. Press Train.`;
  else if (running && history.length === 0) status = `Compiling GPU kernels and running the first step… ${formatDuration(sinceLast)}`;
  else if (running) status = `Step ${step + 1} of ${total} running… ${formatDuration(sinceLast)}`;
  else if (runState === 'paused') status = `Paused at step ${step}; ${savedStep === step ? 'saved in this browser.' : 'saving it in this browser…'}`;
  else if (runState === 'stopped') status = step >= total ? `Finished: ${total} steps.` : `Stopped at step ${step}.`;
  else status = '';

  const fraction = total > 0 ? Math.min(1, step / total) : 0;
  const eta = perStep !== null && running ? formatDuration((total - step) * perStep) : null;
  return (
    <div className="progress" data-testid="train-progress" data-step={step} data-state={runState}>
      <div className="progress-line">
        <span data-testid="train-status">{status}</span>
        <span className="muted">
          {step} / {total} steps{eta && ` · ETA ${eta}`}
          {savedStep !== null && savedStep !== step && ` · saved at step ${savedStep}`}
        </span>
      </div>
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={total} aria-valuenow={step} aria-label="Training progress">
        {running && history.length === 0 ? <div className="bar-fill bar-busy" /> : <div className="bar-fill" style={{ width: `${fraction * 100}%` }} />}
      </div>
    </div>
  );
}

function Facts() {
  const run = useAppStore((s) => s.run);
  const last = useAppStore((s) => s.history.at(-1));
  const lastEval = useAppStore((s) => s.evals.at(-1));
  if (!run) return null;
  const { vision } = run.config;
  const teacher = run.options.mode === 'cosmos' ? 'student + EMA teacher' : 'no teacher (CLIP)';
  return (
    <dl className="stats" data-testid="train-facts">
      <div>
        <dt>Model</dt>
        <dd data-testid="model-facts">
          {run.preset ?? 'loaded'} · {formatCount(run.parameters)} parameters
          {run.trainable < run.parameters && ` (${formatCount(run.trainable)} trained, towers frozen)`} · {vision.imageSize} px, {vision.patchSize} px patches ·{' '}
          {teacher}
        </dd>
      </div>
      <div>
        <dt>Loss</dt>
        <dd data-testid="stat-loss">{last ? last.total.toFixed(4) : '–'}</dd>
      </div>
      <div>
        <dt>Held-out i→t R@1</dt>
        <dd data-testid="stat-recall">{lastEval ? `${(lastEval.i2t_r1 * 100).toFixed(1)}%` : '–'}</dd>
      </div>
      {lastEval?.pointing_cross_attention != null && (
        <div>
          <dt>Pointing game</dt>
          <dd data-testid="stat-pointing">{`${(lastEval.pointing_cross_attention * 100).toFixed(1)}%`}</dd>
        </div>
      )}
      <div>
        <dt>Samples/s</dt>
        <dd>{last ? last.samplesPerSecond.toFixed(1) : '–'}</dd>
      </div>
      <div>
        <dt>GPU memory in use</dt>
        <dd data-testid="stat-memory">{last ? `${formatBytes(last.memory.liveBytes)} (pool ${formatBytes(last.memory.totalBytes)})` : '–'}</dd>
      </div>
    </dl>
  );
}

function SavedRunOffer() {
  const saved = useAppStore((s) => s.savedRun);
  const runState = useAppStore((s) => s.runState);
  const resumeSaved = useAppStore((s) => s.resumeSaved);
  if (!saved || runState === 'running' || runState === 'paused') return null;
  return (
    <div className="notice notice-info" data-testid="saved-run">
      <span>
        A run is saved in this browser ({formatBytes(saved.size)}, {new Date(saved.modified).toLocaleString()}). Training a new one replaces it at its first
        save.
      </span>
      <button type="button" className="primary" data-testid="resume-saved-button" onClick={resumeSaved}>
        Resume the run saved in this browser
      </button>
    </div>
  );
}

/** Train: settings, one-click start, pause/resume/stop, progress and the live charts. */
export function TrainPanel() {
  const runState = useAppStore((s) => s.runState);
  const history = useAppStore((s) => s.history);
  const evals = useAppStore((s) => s.evals);
  const run = useAppStore((s) => s.run);
  const settings = useAppStore((s) => s.settings);
  const badge = STATE_BADGE[runState];
  const options = run?.options;
  return (
    <Panel
      title="Train"
      testId="train-panel"
      wide
      aside={
        <span className={badge.tone} data-testid="run-state" data-state={runState}>
          {badge.text}
        </span>
      }
    >
      <SavedRunOffer />
      <div className="train-top">
        <Settings locked={runState === 'running'} />
        <Actions />
      </div>
      <DataPicker locked={runState === 'running'} />
      <Progress />
      <Facts />
      <TrainingCharts
        history={history}
        evals={evals}
        steps={options?.steps ?? settings.steps}
        cosmos={(options?.mode ?? settings.mode) === 'cosmos'}
        evalEvery={settings.evalEvery}
      />
    </Panel>
  );
}
