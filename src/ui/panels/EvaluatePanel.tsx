import { progressLine } from '../../eval/benchmark/progress.ts';
import { RECALL_KS } from '../../eval/benchmark/retrievalMetrics.ts';
import type { EvalTask } from '../../eval/benchmark/detect.ts';
import type { EvaluationResult } from '../../worker/evaluateProtocol.ts';
import { downloadBlob } from '../heatmap/draw.ts';
import { useEvaluateStore } from '../evaluateStore.ts';
import { datasetLabel, resultsTable } from '../evaluateResults.ts';
import { useAppStore } from '../store.ts';
import { FilesPicker } from './FilesPicker.tsx';
import { Panel } from './Panel.tsx';
import './analysis.css';
import './evaluate.css';

const percent = (x: number | null | undefined) => (x === null || x === undefined || Number.isNaN(x) ? '–' : `${(100 * x).toFixed(1)}`);

const TASKS: Record<EvalTask, { label: string; layouts: string }> = {
  retrieval: {
    label: 'Retrieval',
    layouts: 'COCO (annotations/captions_val2017.json, images/val2017/), Flickr30k (flickr30k_test.json with its images), or webdataset shards (.tar)',
  },
  classification: {
    label: 'Classification',
    layouts:
      'ImageNet (one n######## folder per class), any folder per class (with classnames.json and templates.json if you have them), or shards with .cls labels and a classnames.json',
  },
  segmentation: {
    label: 'Segmentation',
    layouts:
      'a folder with classes.txt (a class per line, label value = line number, synonyms separated by ", "), images/ and labels/ (PNG class maps, 255 ignored)',
  },
};

function DatasetChooser({ busy }: { busy: boolean }) {
  const { filesName, files, chooseFiles } = useEvaluateStore();
  return (
    <FilesPicker
      testId="evaluate-data"
      inputsId="evaluate"
      label="Evaluation data set"
      accept=".zip,.tar,.json"
      fileButton="Choose a zip or shards…"
      busy={busy}
      onFiles={(chosen) => void chooseFiles(chosen)}
      header={
        <>
          <h3>Data set</h3>
          <p className="small" data-testid="evaluate-data-name">
            {files ? (
              <>
                <strong>{filesName}</strong>: {files.length} {files.length === 1 ? 'file' : 'files'}, read from disk as the evaluation needs them.
              </>
            ) : (
              'None chosen yet.'
            )}
          </p>
        </>
      }
    >
      <p className="muted small">Or drop a folder, a zip or .tar shards here. Nothing leaves this computer.</p>
    </FilesPicker>
  );
}

function ModelChoices({ busy }: { busy: boolean }) {
  const { models, toggleModel, alpha, set, second, secondLoading, loadSecond, evaluate, files } = useEvaluateStore();
  const run = useAppStore((s) => s.run);
  const step = useAppStore((s) => s.step);
  const hasTeacher = run?.options.mode === 'cosmos';
  const canMix = run?.source !== null && run?.source !== undefined && step > 0;
  const choose = (event: { target: { files: FileList | null; value: string } }) => {
    void loadSecond([...(event.target.files ?? [])]);
    event.target.value = '';
  };
  return (
    <section className="figure-block" data-testid="evaluate-models">
      <h3>Models</h3>
      <label className="check">
        <input
          type="checkbox"
          checked={models.student}
          disabled={busy || !run}
          data-testid="evaluate-model-student"
          onChange={(e) => toggleModel('student', e.target.checked)}
        />
        This run{run?.source ? ` (${run.source.name})` : ''}, student weights, step {step}
      </label>
      {hasTeacher && (
        <label className="check">
          <input
            type="checkbox"
            checked={models.teacher}
            disabled={busy}
            data-testid="evaluate-model-teacher"
            onChange={(e) => toggleModel('teacher', e.target.checked)}
          />
          This run, teacher weights (what SCLIP segmentation is reported on)
        </label>
      )}
      <label className="check">
        <input
          type="checkbox"
          checked={models.second && second !== null}
          disabled={busy || !second}
          data-testid="evaluate-model-second"
          onChange={(e) => toggleModel('second', e.target.checked)}
        />
        Second model: <span data-testid="evaluate-second-name">{second ? `${second.name} (${second.kind} ${second.architecture})` : 'none loaded'}</span>
      </label>
      <div className="button-row">
        <label className="file-button" aria-disabled={busy || secondLoading}>
          <input
            type="file"
            multiple
            accept=".pt,.pth,.bin,.safetensors,.json"
            disabled={busy || secondLoading}
            data-testid="evaluate-second-file"
            onChange={choose}
          />
          <span>{secondLoading ? 'Loading…' : 'Load a second model…'}</span>
        </label>
        <label className="file-button" aria-disabled={busy || secondLoading}>
          <input
            type="file"
            ref={(input) => input?.setAttribute('webkitdirectory', '')}
            disabled={busy || secondLoading}
            data-testid="evaluate-second-folder"
            onChange={choose}
          />
          <span>…or its folder</span>
        </label>
      </div>
      <p className="muted small">
        COSMOS, OpenCLIP, OpenAI or Hugging Face, as Checkpoints loads them (its student weights): compare COSMOS with a CLIP checkpoint on the same images.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={models.wiseft && canMix}
          disabled={busy || !canMix}
          data-testid="evaluate-model-wiseft"
          onChange={(e) => toggleModel('wiseft', e.target.checked)}
        />
        WiSE-FT mix of the loaded checkpoint and this run fine-tuned from it
      </label>
      <label className="field field-range">
        <span className="evaluate-alpha-label">
          α = <strong data-testid="evaluate-alpha-value">{alpha.toFixed(2)}</strong> (0: as loaded, 1: as fine-tuned)
        </span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.05}
          value={alpha}
          disabled={busy || !canMix}
          data-testid="evaluate-alpha"
          onChange={(e) => set({ alpha: Number(e.target.value) })}
        />
      </label>
      <button type="button" disabled={busy || !canMix || !files} data-testid="evaluate-mix" onClick={() => void evaluate(['wiseft'])}>
        Evaluate the mix at α = {alpha.toFixed(2)}
      </button>
      {!canMix && (
        <p className="muted small">
          WiSE-FT (θ = (1 − α) θ₀ + α θ₁) needs a checkpoint loaded in Checkpoints and fine-tuned in Train: when fine-tuning makes a model forget, a mix often
          keeps both.
        </p>
      )}
    </section>
  );
}

function Settings({ busy }: { busy: boolean }) {
  const { task, segmentation, limit, set } = useEvaluateStore();
  return (
    <section className="figure-block" data-testid="evaluate-settings">
      <h3>Task</h3>
      <label className="field">
        <span>Measure</span>
        <select value={task} disabled={busy} data-testid="evaluate-task" onChange={(e) => set({ task: e.target.value as EvalTask })}>
          {(Object.keys(TASKS) as EvalTask[]).map((t) => (
            <option key={t} value={t}>
              {TASKS[t].label}
            </option>
          ))}
        </select>
      </label>
      <p className="muted small">Reads {TASKS[task].layouts}.</p>
      {task === 'segmentation' && (
        <div className="analysis-controls">
          <label className="field">
            <span>CSA</span>
            <select
              value={segmentation.csa}
              disabled={busy}
              data-testid="evaluate-csa"
              onChange={(e) => set({ segmentation: { ...segmentation, csa: e.target.value as 'both' } })}
            >
              <option value="both">with and without</option>
              <option value="on">with</option>
              <option value="off">without</option>
            </select>
          </label>
          <label className="field">
            <span>Logit scale</span>
            <input
              type="number"
              min={1}
              step={1}
              value={segmentation.logitScale}
              disabled={busy}
              onChange={(e) => set({ segmentation: { ...segmentation, logitScale: Number(e.target.value) || 40 } })}
            />
          </label>
          <label className="field">
            <span>Background under</span>
            <input
              type="number"
              min={0}
              max={1}
              step={0.05}
              value={segmentation.threshold}
              disabled={busy}
              onChange={(e) => set({ segmentation: { ...segmentation, threshold: Number(e.target.value) || 0 } })}
            />
          </label>
        </div>
      )}
      <label className="field">
        <span>Images</span>
        <input
          type="number"
          min={1}
          placeholder="all"
          value={limit ?? ''}
          disabled={busy}
          data-testid="evaluate-limit"
          onChange={(e) => set({ limit: e.target.value === '' ? null : Math.max(1, Math.floor(Number(e.target.value))) })}
        />
      </label>
    </section>
  );
}

function Running() {
  const { running, cancel } = useEvaluateStore();
  if (!running) return null;
  const detail = running.progress?.detail;
  const fraction = detail?.fraction ?? null;
  return (
    <div className="progress" data-testid="evaluate-progress">
      <div className="progress-line">
        <span className="small" data-testid="evaluate-progress-text">
          {detail ? progressLine(detail) : 'reading the data set…'}
        </span>
        <button type="button" className="quiet" data-testid="evaluate-cancel" onClick={cancel}>
          Cancel
        </button>
      </div>
      <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={fraction === null ? undefined : Math.round(100 * fraction)}>
        <div className={fraction === null ? 'bar-fill bar-busy' : 'bar-fill'} style={fraction === null ? {} : { width: `${100 * fraction}%` }} />
      </div>
    </div>
  );
}

function LatestDetails({ result }: { result: EvaluationResult }) {
  const { report } = result;
  return (
    <details className="more" data-testid="evaluate-details">
      <summary>
        {datasetLabel(result)}: {report.images} images
        {report.texts !== undefined ? `, ${report.texts} captions` : ''}
        {report.classes !== undefined ? `, ${report.classes} classes` : ''}, {report.imagesPerSecond.toFixed(1)} images/s
        {report.skipped.length > 0 ? `, ${report.skipped.length} skipped` : ''}
      </summary>
      <ul className="skipped">
        {report.results.map((r) => (
          <li key={`${r.label}${r.csa}`}>
            <strong>{r.label}</strong>
            {r.csa !== undefined ? (r.csa ? ', CSA' : ', no CSA') : ''}:{' '}
            {result.task === 'retrieval'
              ? `image→text ${RECALL_KS.map((k) => `R@${k} ${percent(r.metrics[`text_retrieval_recall@${k}`])}`).join(', ')}; text→image ${RECALL_KS.map((k) => `R@${k} ${percent(r.metrics[`image_retrieval_recall@${k}`])}`).join(', ')}`
              : Object.entries(r.metrics)
                  .map(([k, v]) => `${k} ${percent(v)}`)
                  .join(', ')}
            {r.perClassIou &&
              ` (per class: ${Object.entries(r.perClassIou)
                .map(([name, iou]) => `${name} ${percent(iou)}`)
                .join(', ')})`}
          </li>
        ))}
        {report.skipped.map(({ path, reason }) => (
          <li key={`${path}\n${reason}`}>
            skipped <code>{path}</code>: {reason}
          </li>
        ))}
      </ul>
    </details>
  );
}

function Results() {
  const { results, clearResults } = useEvaluateStore();
  if (results.length === 0) return null;
  const table = resultsTable(results);
  return (
    <section className="figure-block figure-block-full" data-testid="evaluate-results">
      <h3>Results (%)</h3>
      <div className="table-scroll">
        <table className="recall-table" data-testid="evaluate-table">
          <thead>
            <tr>
              <th>Model</th>
              {table.columns.map((c) => (
                <th key={c}>{c}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.rows.map((row) => (
              <tr key={row.model} data-model={row.model}>
                <th>{row.model}</th>
                {row.cells.map((v, i) => (
                  <td key={table.columns[i]}>{percent(v)}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <LatestDetails result={results.at(-1)!} />
      <div className="button-row">
        <button
          type="button"
          data-testid="evaluate-download"
          onClick={() => downloadBlob(new Blob([JSON.stringify(results, null, 1)], { type: 'application/json' }), 'cosmos-eval.json')}
        >
          Download all results (JSON)
        </button>
        <button type="button" className="quiet" onClick={clearResults}>
          Clear
        </button>
      </div>
      <p className="muted small">
        Metric names in the JSON are CLIP_benchmark's: text_retrieval_recall@k (images find one of their captions), image_retrieval_recall@k (captions find
        their image), acc1, acc5, mean_per_class_recall, miou.
      </p>
    </section>
  );
}

/**
 * Zero-shot evaluation on the user's copy of a benchmark, as the paper reports it (COCO and Flickr30k retrieval,
 * ImageNet top-1, SCLIP segmentation), with the run's model beside a second model and a WiSE-FT mix.
 */
export function EvaluatePanel() {
  const { running, error, files, evaluate, models } = useEvaluateStore();
  const runState = useAppStore((s) => s.runState);
  const engine = useAppStore((s) => s.engine);
  const busy = running !== null;
  const training = runState === 'running';
  const anyModel = Object.values(models).some(Boolean);
  return (
    <Panel title="Evaluate" testId="evaluate-panel" wide>
      <div className="evaluate-grid">
        <DatasetChooser busy={busy} />
        <Settings busy={busy} />
        <ModelChoices busy={busy} />
      </div>
      <div className="button-row">
        <button
          type="button"
          className="primary"
          disabled={busy || !files || !engine || training || !anyModel}
          data-testid="evaluate-run"
          onClick={() => void evaluate()}
        >
          Evaluate
        </button>
        {training && <span className="muted small">Pause training to evaluate: the weights would change under it.</span>}
      </div>
      <Running />
      {error && (
        <p className="error-text" role="alert" data-testid="evaluate-error">
          {error}
        </p>
      )}
      <Results />
    </Panel>
  );
}
