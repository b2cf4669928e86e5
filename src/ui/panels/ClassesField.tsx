import { useEffect, useState } from 'react';
import { effectiveClasses, useAnalysisState } from './analysisState.ts';

/** The class names, comma-separated; shared by zero-shot classification and segmentation. Enter submits. */
export function ClassesField({ testId, onSubmit }: { testId: string; onSubmit(): void }) {
  const state = useAnalysisState();
  const classes = effectiveClasses(state);
  const [draft, setDraft] = useState(classes);
  useEffect(() => setDraft(classes), [classes]);
  const commit = () => {
    if (draft !== classes) state.set({ classes: draft });
  };
  return (
    <label className="field field-wide">
      <span>Classes, separated by commas</span>
      <input
        type="text"
        data-testid={testId}
        value={draft}
        placeholder="red apple, dog, light blue sky"
        onChange={(event) => setDraft(event.target.value)}
        onBlur={commit}
        onKeyDown={(event) => {
          if (event.key !== 'Enter') return;
          event.preventDefault();
          commit();
          onSubmit();
        }}
      />
    </label>
  );
}
