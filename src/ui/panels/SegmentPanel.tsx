import { useEffect, useRef, useState } from 'react';
import type { SegmentResult } from '../../worker/protocol.ts';
import { classColour, cssColour } from '../heatmap/colormap.ts';
import { drawLabels, drawPicture, prepareCanvas } from '../heatmap/draw.ts';
import { useAppStore } from '../store.ts';
import { AnalysisImagePicker } from './AnalysisImagePicker.tsx';
import { ClassesField } from './ClassesField.tsx';
import { Panel } from './Panel.tsx';
import { effectiveClasses, imageInput, useAnalysisState } from './analysisState.ts';
import { useAnalysis } from './useAnalysis.ts';
import './analysis.css';

const SIZE = 320;

/** SCLIP-style zero-shot segmentation (teacher weights when there is a teacher): a class per pixel, over the picture. */
export function SegmentPanel() {
  const source = useAnalysisState((s) => s.source);
  const csa = useAnalysisState((s) => s.csa);
  const classesText = useAnalysisState(effectiveClasses);
  const setShared = useAnalysisState((s) => s.set);
  const model = useAppStore((s) => s.run);
  const call = useAnalysis('segment');
  const [opacity, setOpacity] = useState(0.65);

  const compute = () => {
    const state = useAnalysisState.getState();
    const classes = effectiveClasses(state);
    if (call.ready && classes.trim() !== '') void call.run({ kind: 'segment', image: imageInput(state.source), classes, csa: state.csa });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list names what triggers a recomputation (a new model included)
  useEffect(compute, [call.ready, source, csa, classesText, model]);
  const result = call.result;

  return (
    <Panel
      title="Segmentation"
      testId="segment-panel"
      wide
      aside={<span className="badge">{call.busy ? 'computing…' : model?.options.mode === 'cosmos' ? 'teacher' : 'student'}</span>}
    >
      <p className="muted">
        Dense features (<code>ln_post(patch tokens) @ proj</code>) of sliding windows against the class embeddings; per pixel the softmax of 40 × cosine, and
        background where no class reaches 10%. CSA replaces the last block’s attention with <code>softmax(qqᵀ) + softmax(kkᵀ)</code>, so each patch mixes
        patches like itself.
      </p>
      <div className="analysis-controls">
        <AnalysisImagePicker testId="segment" />
        <label className="check">
          <input type="checkbox" data-testid="segment-csa" checked={csa} onChange={(event) => setShared({ csa: event.target.checked })} /> CSA (correlative
          self-attention)
        </label>
        <label className="field field-range">
          <span>Overlay</span>
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            onChange={(event) => setOpacity(Number(event.target.value))}
            aria-label="Overlay opacity"
          />
        </label>
      </div>
      <div className="analysis-controls">
        <ClassesField testId="segment-classes" onSubmit={compute} />
        <button type="button" data-testid="segment-run" disabled={!call.ready || call.busy} onClick={compute}>
          Segment
        </button>
      </div>
      {call.error && (
        <p className="error-text" role="alert" data-testid="segment-error">
          {call.error}
        </p>
      )}
      {result && <Segmentation result={result} opacity={opacity} />}
    </Panel>
  );
}

function Segmentation({ result, opacity }: { result: SegmentResult; opacity: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const { image, labels, classes } = result;
  const height = Math.round((SIZE * image.height) / image.width);

  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const context = prepareCanvas(element, SIZE, height);
    const box = { x: 0, y: 0, width: element.width, height: element.height };
    drawPicture(context, image, box);
    drawLabels(context, labels, image, box, { opacity });
  }, [image, labels, height, opacity]);

  const share = (c: number) => labels.reduce((n, label) => n + (label === c ? 1 : 0), 0) / labels.length;
  return (
    <div className="segmentation">
      <canvas ref={canvas} className="heatmap-canvas" role="img" aria-label="Class per pixel over the image" data-testid="segment-map" />
      <ul className="class-legend" data-testid="segment-legend">
        {classes.map((name, c) => (
          <li key={name}>
            <span className="swatch" style={{ background: cssColour(classColour(c)) }} />
            {name} <span className="muted small">{(100 * share(c)).toFixed(1)}%</span>
          </li>
        ))}
        <li>
          <span className="swatch swatch-clear" />
          background (no class ≥ 10%) <span className="muted small">{(100 * share(-1)).toFixed(1)}%</span>
        </li>
      </ul>
    </div>
  );
}
