import { errorMessage } from '../../format.ts';
import { useEffect, useState } from 'react';
import { RgbImageCanvas } from '../charts/RgbImageCanvas.tsx';
import { useAppStore } from '../store.ts';
import type { ViewsResult } from '../../worker/protocol.ts';
import { Panel } from './Panel.tsx';

/** Displayed side of a global view; local views are drawn at the same scale, so their size reads true. */
const GLOBAL_DISPLAY = 168;

type ViewsState = { status: 'idle' } | { status: 'done'; result: ViewsResult } | { status: 'error'; message: string };

/** Why a fresh draw is shown instead of the step's own views. */
function freshReason(shown: ViewsResult, trainedSteps: number, draw: number): string {
  if (draw > 0) return 'drawn again';
  if (shown.step > trainedSteps) return 'the step has not run yet';
  return 'only the last step trained in this session keeps its views';
}

/** Views: what self-distillation compares for one sample of a step, image crops and text crops side by side. */
export function ViewsPanel() {
  const engine = useAppStore((s) => s.engine);
  const run = useAppStore((s) => s.run);
  const step = useAppStore((s) => s.step);
  const dataSet = useAppStore((s) => s.dataSet);
  const batch = run?.options.batchSize ?? 1;
  const [sample, setSample] = useState(0);
  /** The step the views are of when not following training. */
  const [pinnedStep, setPinnedStep] = useState<number | null>(null);
  const [draw, setDraw] = useState(0);
  const [state, setState] = useState<ViewsState>({ status: 'idle' });
  const [busy, setBusy] = useState(false);
  /** What the last finished request was for: a new one goes out when the wanted views differ. */
  const [fetched, setFetched] = useState<string | null>(null);

  const follow = pinnedStep === null;
  // Following: the step trained last (its own views); before the first, step 1 (a fresh draw of it).
  const viewStep = pinnedStep ?? Math.max(1, step);
  const shownSample = Math.min(sample, batch - 1);
  const wanted = `${viewStep}:${shownSample}:${draw}`;

  // A new run or another data set: the same sample number is another example.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new run or data set triggers the reset
  useEffect(() => setFetched(null), [run, dataSet]);
  useEffect(() => {
    if (!engine || !run || busy || fetched === wanted) return;
    setBusy(true);
    engine
      .analysis({ kind: 'views', step: viewStep, sample: shownSample, draw })
      .then((result) => setState({ status: 'done', result: result as ViewsResult }))
      .catch((error: unknown) => setState({ status: 'error', message: errorMessage(error) }))
      .finally(() => {
        setBusy(false);
        setFetched(wanted);
      });
  }, [engine, run, busy, fetched, wanted, viewStep, shownSample, draw]);

  const shown = state.status === 'done' ? state.result : null;
  const globals = shown?.images.slice(0, 2) ?? [];
  const locals = shown?.images.slice(2) ?? [];
  const scale = globals[0] ? GLOBAL_DISPLAY / globals[0].width : 1;

  return (
    <Panel title="Views" testId="views-panel" wide aside={busy ? <span className="badge">drawing…</span> : undefined}>
      <p className="muted">
        Each step the model sees every sample as 2 global and {run?.options.localCount ?? 'N'} local image crops (random crop, flip, color jitter, grayscale,
        blur, solarize) and as 2 global and {run?.options.localCount ?? 'N'} local text crops of its caption. The student sees all of them; the EMA teacher only
        the global ones, and the student learns to match the teacher across views and across modalities.
      </p>
      <div className="views-controls">
        <label className="field inline">
          <span>Sample of the batch</span>
          <input
            type="number"
            min={0}
            max={batch - 1}
            value={Math.min(sample, batch - 1)}
            data-testid="views-sample"
            onChange={(e) => setSample(Math.max(0, Math.min(batch - 1, Math.floor(Number(e.target.value) || 0))))}
          />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={follow}
            onChange={(e) => {
              setPinnedStep(e.target.checked ? null : viewStep);
              setDraw(0);
            }}
            data-testid="views-follow"
          />
          Follow training
        </label>
        <button type="button" onClick={() => setDraw((d) => d + 1)} disabled={!run} data-testid="views-redraw">
          Draw again
        </button>
      </div>

      {!run && <p className="muted">Waits for the model.</p>}
      {busy && !shown && <p className="muted">Rendering the views on the GPU (after the step in flight)…</p>}
      {state.status === 'error' && (
        <p className="error-text" role="alert" data-testid="views-error">
          {state.message}
        </p>
      )}
      {shown && state.status === 'done' && (
        <div className="views" data-testid="views-result" data-images={shown.images.length}>
          <p className="muted small" data-testid="views-source" data-trained={shown.trained}>
            {shown.trained
              ? `Exactly what the model trained on at step ${shown.step}: sample ${shown.sample} of its batch (training example ${shown.example}).`
              : `A fresh draw of the views for sample ${shown.sample} of step ${shown.step} (training example ${shown.example}), by the code the step uses: ${freshReason(shown, step, draw)}.`}
          </p>
          <div className="views-grid">
            <section>
              <h3>Image: {globals.length} global views</h3>
              <div className="view-row">
                {globals.map((image, i) => (
                  <figure key={`g${i}`} className="view">
                    <RgbImageCanvas image={image} size={image.width * scale} label={`Global view ${i + 1}`} testId="view-global" />
                    <figcaption>
                      global {i + 1} · {image.width} px
                    </figcaption>
                  </figure>
                ))}
              </div>
              <h3>Image: {locals.length} local views</h3>
              <div className="view-row">
                {locals.map((image, i) => (
                  <figure key={`l${i}`} className="view">
                    <RgbImageCanvas image={image} size={image.width * scale} label={`Local view ${i + 1}`} testId="view-local" />
                    <figcaption>
                      local {i + 1} · {image.width} px
                    </figcaption>
                  </figure>
                ))}
              </div>
            </section>
            <section>
              <h3>Text: global crops</h3>
              <ol className="crops">
                {shown.texts.slice(0, 2).map((t, i) => (
                  <li key={`g${i}`} data-testid="text-global">
                    {t}
                  </li>
                ))}
              </ol>
              <h3>Text: local crops</h3>
              <ol className="crops">
                {shown.texts.slice(2).map((t, i) => (
                  <li key={`l${i}`} data-testid="text-local">
                    {t}
                  </li>
                ))}
              </ol>
              <details>
                <summary>Full caption</summary>
                <p className="caption">{shown.caption}</p>
              </details>
            </section>
          </div>
        </div>
      )}
    </Panel>
  );
}
