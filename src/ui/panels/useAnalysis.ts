/** Runs analysis requests in the engine worker for a panel: the latest answer, its error, and whether one is on its way. */
import { errorMessage } from '../../format.ts';
import { useCallback, useRef, useState } from 'react';
import type { AnalysisRequest, AnalysisResult } from '../../worker/protocol.ts';
import { useAppStore } from '../store.ts';

type ResultOf<K extends AnalysisRequest['kind']> = Extract<AnalysisResult, { kind: K }>;

export interface AnalysisCall<R> {
  result: R | null;
  error: string | null;
  busy: boolean;
  /** Whether the engine has a model to ask. */
  ready: boolean;
  /** Sends the request; an older request's answer that arrives later is dropped. */
  run(request: AnalysisRequest): Promise<R | null>;
}

export function useAnalysis<K extends AnalysisRequest['kind']>(kind: K): AnalysisCall<ResultOf<K>> {
  const engine = useAppStore((s) => s.engine);
  const ready = useAppStore((s) => s.run !== null && !s.building);
  const [result, setResult] = useState<ResultOf<K> | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const latest = useRef(0);

  const run = useCallback(
    async (request: AnalysisRequest): Promise<ResultOf<K> | null> => {
      if (request.kind !== kind) throw new Error(`a ${kind} panel sent a ${request.kind} request`);
      if (!engine) {
        setError('The engine has not started yet.');
        return null;
      }
      const id = ++latest.current;
      setBusy(true);
      try {
        const answer = (await engine.analysis(request)) as ResultOf<K>;
        if (id !== latest.current) return null;
        setResult(answer);
        setError(null);
        return answer;
      } catch (failure) {
        if (id === latest.current) setError(errorMessage(failure));
        return null;
      } finally {
        if (id === latest.current) setBusy(false);
      }
    },
    [engine, kind],
  );

  return { result, error, busy, ready, run };
}
