import { useEffect, useMemo, useState } from 'react';
import { topK, transposed } from '../../eval/ranking.ts';
import type { RetrievalResult } from '../../worker/protocol.ts';
import { ColourLegend } from '../heatmap/ColourLegend.tsx';
import { MatrixCanvas } from '../heatmap/MatrixCanvas.tsx';
import { useAppStore } from '../store.ts';
import { WeightsChoice } from './AttentionPanel.tsx';
import { Panel } from './Panel.tsx';
import { useAnalysisState } from './analysisState.ts';
import { useAnalysis } from './useAnalysis.ts';
import './analysis.css';

const COUNTS = [16, 32, 64, 128, 256];
const TOP = 5;
const percent = (v: number) => `${(100 * v).toFixed(1)}%`;

/** Held-out images against their captions: the similarity matrix, Recall@K both ways, and the top matches of one pair. */
export function RetrievalPanel() {
  const weights = useAnalysisState((s) => s.weights);
  const setShared = useAnalysisState((s) => s.set);
  const hasTeacher = useAppStore((s) => s.run?.options.mode === 'cosmos');
  const model = useAppStore((s) => s.run);
  // The held-out pairs are those of the data set the run trains on: the built-in scenes or the user's images.
  const dataName = useAppStore((s) => s.dataSet.name);
  const call = useAnalysis('retrieval');
  const [count, setCount] = useState(32);
  const [selected, setSelected] = useState(0);

  const compute = () => {
    if (call.ready) void call.run({ kind: 'retrieval', count, weights });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list names what triggers a recomputation (a new model or data set included)
  useEffect(compute, [call.ready, count, weights, model, dataName]);
  const result = call.result;

  return (
    <Panel
      title="Retrieval"
      testId="retrieval-panel"
      wide
      aside={<span className="badge">{call.busy ? 'computing…' : result ? `${result.count} held-out pairs of ${dataName}` : 'no results yet'}</span>}
    >
      <p className="muted">
        Each held-out image against each held-out caption: the cosine of their normalized global embeddings. The diagonal holds the true pairs; a model that has
        learned puts its brightest cells there.
      </p>
      <div className="analysis-controls">
        <label className="field">
          <span>Pairs</span>
          <select data-testid="retrieval-count" value={count} onChange={(event) => setCount(Number(event.target.value))}>
            {COUNTS.map((n) => (
              <option key={n} value={n}>
                {n}
              </option>
            ))}
          </select>
        </label>
        <WeightsChoice value={weights} hasTeacher={hasTeacher} onChange={(w) => setShared({ weights: w })} testId="retrieval-weights" />
        <button type="button" data-testid="retrieval-run" disabled={!call.ready || call.busy} onClick={compute}>
          Recompute
        </button>
      </div>
      {call.error && (
        <p className="error-text" role="alert" data-testid="retrieval-error">
          {call.error}
        </p>
      )}
      {result && <RetrievalView result={result} selected={Math.min(selected, result.count - 1)} onSelect={setSelected} />}
    </Panel>
  );
}

function RetrievalView({ result, selected, onSelect }: { result: RetrievalResult; selected: number; onSelect(i: number): void }) {
  const n = result.count;
  const imageToText = useMemo(() => topK(result.similarity, n, n, TOP), [result, n]);
  const textToImage = useMemo(() => topK(transposed(result.similarity, n, n), n, n, TOP), [result, n]);
  const { min, max } = useMemo(() => {
    let lo = Infinity;
    let hi = -Infinity;
    for (const v of result.similarity) [lo, hi] = [Math.min(lo, v), Math.max(hi, v)];
    return { min: lo, max: hi };
  }, [result]);
  const caption = (i: number) => result.captions[i]!;

  return (
    <div className="retrieval">
      <section className="figure-block">
        <h3>Images (rows) × captions (columns)</h3>
        <MatrixCanvas
          values={result.similarity}
          rows={n}
          cols={n}
          size={320}
          selectedRow={selected}
          onSelectRow={onSelect}
          describe={(row, col) => `image ${row}, caption ${col}: cosine ${result.similarity[row * n + col]!.toFixed(3)}`}
          testId="retrieval-matrix"
        />
        <ColourLegend
          title="Cosine similarity"
          low={min.toFixed(3)}
          high={max.toFixed(3)}
          note="Colours span the matrix’s own range (min-max). Click a row to see its matches."
        />
      </section>
      <section className="figure-block figure-block-grow">
        <h3>Recall@K</h3>
        <table className="recall-table" data-testid="retrieval-recall">
          <thead>
            <tr>
              <th />
              {result.recall.ks.map((k) => (
                <th key={k}>R@{k}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            <tr>
              <th>Image → text</th>
              {result.recall.i2t.map((v, i) => (
                <td key={i} data-value={v}>
                  {percent(v)}
                </td>
              ))}
            </tr>
            <tr>
              <th>Text → image</th>
              {result.recall.t2i.map((v, i) => (
                <td key={i} data-value={v}>
                  {percent(v)}
                </td>
              ))}
            </tr>
          </tbody>
        </table>
        <p className="muted small">Chance level for R@1 is {percent(1 / n)}.</p>
        <div className="topk" data-testid="retrieval-topk">
          <div>
            <h4>Image {selected} → captions</h4>
            <MatchList matches={imageToText[selected]!} own={selected} label={(j) => `caption ${j}: ${caption(j)}`} />
          </div>
          <div>
            <h4>
              Caption {selected} → images <span className="muted small">“{caption(selected)}”</span>
            </h4>
            <MatchList matches={textToImage[selected]!} own={selected} label={(j) => `image ${j} (its caption: ${caption(j)})`} />
          </div>
        </div>
      </section>
    </div>
  );
}

function MatchList({ matches, own, label }: { matches: { index: number; score: number }[]; own: number; label(j: number): string }) {
  return (
    <ol className="match-list">
      {matches.map((m) => (
        <li key={m.index} className={m.index === own ? 'match-own' : undefined}>
          <span className="match-score">{m.score.toFixed(3)}</span>
          <span className="match-text">
            {m.index === own && <strong title="the true pair">✓ </strong>}
            {label(m.index)}
          </span>
        </li>
      ))}
    </ol>
  );
}
