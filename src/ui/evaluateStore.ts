/**
 * The Evaluate tab's state, kept apart from the app's store so that it outlives switching tabs: the chosen data set
 * and task, the models to compare, the evaluation under way with its progress, and every result so far (the
 * results table, a row per model and a column per data set and metric).
 */
import { create } from 'zustand';
import type { ModelSource } from '../cosmos/modelSource.ts';
import type { PathedBlob } from '../data/userData-browser.ts';
import { nameOfFiles } from '../data/userData-browser.ts';
import type { EvalTask } from '../eval/benchmark/detect.ts';
import { errorMessage } from '../format.ts';
import type { Progress } from '../worker/client.ts';
import type { EvalModelChoice, EvaluateRequest, EvaluationResult } from '../worker/evaluateProtocol.ts';
import { useAppStore } from './store.ts';

export interface EvaluateState {
  files: PathedBlob[] | null;
  filesName: string;
  task: EvalTask;
  models: Record<EvalModelChoice, boolean>;
  /** WiSE-FT's weight of the fine-tuned model. */
  alpha: number;
  segmentation: EvaluateRequest['segmentation'];
  /** Only the first this many images (null: all). */
  limit: number | null;
  second: ModelSource | null;
  secondLoading: boolean;
  /** The evaluation under way, with its last progress report. */
  running: { progress: Progress | null } | null;
  error: string | null;
  /** Every evaluation done, oldest first. */
  results: EvaluationResult[];
  chooseFiles(files: PathedBlob[] | Promise<PathedBlob[]>): Promise<void>;
  set(patch: Partial<Pick<EvaluateState, 'task' | 'alpha' | 'segmentation' | 'limit'>>): void;
  toggleModel(choice: EvalModelChoice, on: boolean): void;
  loadSecond(files: File[]): Promise<void>;
  /** Evaluates the chosen data set with the chosen models (or only `models`). */
  evaluate(models?: EvalModelChoice[]): Promise<void>;
  cancel(): void;
  clearResults(): void;
}

export const useEvaluateStore = create<EvaluateState>()((set, get) => ({
  files: null,
  filesName: '',
  task: 'retrieval',
  models: { student: true, teacher: false, second: false, wiseft: false },
  alpha: 0.5,
  segmentation: { csa: 'both', logitScale: 40, threshold: 0 },
  limit: null,
  second: null,
  secondLoading: false,
  running: null,
  error: null,
  results: [],

  async chooseFiles(pending) {
    try {
      const files = await pending;
      if (files.length > 0) set({ files, filesName: nameOfFiles(files), error: null });
    } catch (failure) {
      set({ error: errorMessage(failure) });
    }
  },
  set: (patch) => set(patch),
  toggleModel: (choice, on) => set({ models: { ...get().models, [choice]: on } }),

  async loadSecond(files) {
    const engine = useAppStore.getState().engine;
    if (!engine || files.length === 0) return;
    set({ secondLoading: true, error: null });
    try {
      const second = await engine.loadSecondModel(files);
      set({ second, models: { ...get().models, second: true } });
    } catch (failure) {
      set({ error: errorMessage(failure) });
    } finally {
      set({ secondLoading: false });
    }
  },

  async evaluate(only) {
    const engine = useAppStore.getState().engine;
    const { files, task, models, alpha, segmentation, limit } = get();
    if (!engine || !files || get().running) return;
    const chosen = only ?? (Object.keys(models) as EvalModelChoice[]).filter((m) => models[m]);
    set({ running: { progress: null }, error: null });
    try {
      const request: EvaluateRequest = { files, task, models: chosen, alpha, segmentation, ...(limit ? { limit } : {}) };
      const result = await engine.evaluate(request, (progress) => set({ running: { progress } }));
      set({ results: [...get().results, result] });
    } catch (failure) {
      set({ error: errorMessage(failure) });
    } finally {
      set({ running: null });
    }
  },

  cancel() {
    useAppStore.getState().engine?.cancelEvaluation();
  },
  clearResults: () => set({ results: [] }),
}));
