import { useEffect } from 'react';
import { useAppStore } from '../store.ts';
import { AnalysisImagePicker } from './AnalysisImagePicker.tsx';
import { WeightsChoice } from './AttentionPanel.tsx';
import { ClassesField } from './ClassesField.tsx';
import { Panel } from './Panel.tsx';
import { effectiveClasses, imageInput, useAnalysisState } from './analysisState.ts';
import { useAnalysis } from './useAnalysis.ts';
import './analysis.css';

/** Zero-shot classification: the picture against class names typed, each class the mean of 80 prompt templates. */
export function ZeroShotPanel() {
  const source = useAnalysisState((s) => s.source);
  const weights = useAnalysisState((s) => s.weights);
  const classesText = useAnalysisState(effectiveClasses);
  const setShared = useAnalysisState((s) => s.set);
  const hasTeacher = useAppStore((s) => s.run?.options.mode === 'cosmos');
  const model = useAppStore((s) => s.run);
  const call = useAnalysis('zeroShot');

  const compute = () => {
    // Read afresh: the classes field commits just before it asks.
    const state = useAnalysisState.getState();
    const classes = effectiveClasses(state);
    if (call.ready && classes.trim() !== '') void call.run({ kind: 'zeroShot', image: imageInput(state.source), classes, weights: state.weights });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list names what triggers a recomputation (a new model included)
  useEffect(compute, [call.ready, source, weights, classesText, model]);
  const ranked = call.result?.ranked ?? [];

  return (
    <Panel
      title="Zero-shot classification"
      testId="zeroshot-panel"
      wide
      aside={<span className="badge">{call.busy ? 'computing…' : `${ranked.length} classes`}</span>}
    >
      <p className="muted">
        Each class is the mean embedding of 80 prompts (“a photo of a {'{class}'}.”, …); the probabilities are the softmax of 100 × cosine with the image.
      </p>
      <div className="analysis-controls">
        <AnalysisImagePicker testId="zeroshot" />
        <WeightsChoice value={weights} hasTeacher={hasTeacher} onChange={(w) => setShared({ weights: w })} testId="zeroshot-weights" />
      </div>
      <div className="analysis-controls">
        <ClassesField testId="zeroshot-classes" onSubmit={compute} />
        <button type="button" data-testid="zeroshot-run" disabled={!call.ready || call.busy} onClick={compute}>
          Classify
        </button>
      </div>
      {call.error && (
        <p className="error-text" role="alert" data-testid="zeroshot-error">
          {call.error}
        </p>
      )}
      {ranked.length > 0 && (
        <ol className="ranked" data-testid="zeroshot-ranked">
          {ranked.map(({ label, probability }) => (
            <li key={label} data-label={label} data-probability={probability}>
              <span className="ranked-label">{label}</span>
              <span className="ranked-bar" aria-hidden="true">
                <span style={{ width: `${(100 * probability).toFixed(2)}%` }} />
              </span>
              <span className="ranked-value">{(100 * probability).toFixed(1)}%</span>
            </li>
          ))}
        </ol>
      )}
    </Panel>
  );
}
