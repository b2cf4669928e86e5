import { create } from 'zustand';
import type { AdapterSummary } from '../gpu/acquire.ts';
import { WebGpuUnavailableError } from '../gpu/errors.ts';
import { GpuRuntime } from '../gpu/runtime.ts';
import { type SelfTestResult, runSelfTest } from './selftest.ts';

export type GpuPhase = 'idle' | 'acquiring' | 'ready' | 'unavailable' | 'failed';

export type SelfTestState =
  | { status: 'idle' }
  | { status: 'running' }
  | { status: 'passed' | 'failed'; result: SelfTestResult }
  | { status: 'error'; message: string };

export interface AppState {
  phase: GpuPhase;
  runtime: GpuRuntime | null;
  adapter: AdapterSummary | null;
  /** Why there is no device: a sentence for the user. */
  error: string | null;
  /** Set once if the device is lost after it was acquired. */
  lost: string | null;
  selfTest: SelfTestState;
  /** Acquires the device once; later calls do nothing. Runs the self-test when it succeeds. */
  connect(gpu: GPU | undefined): Promise<void>;
  runSelfTest(): Promise<void>;
}

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export const useAppStore = create<AppState>()((set, get) => ({
  phase: 'idle',
  runtime: null,
  adapter: null,
  error: null,
  lost: null,
  selfTest: { status: 'idle' },

  async connect(gpu) {
    if (get().phase !== 'idle') return;
    set({ phase: 'acquiring' });
    try {
      const runtime = await GpuRuntime.create(gpu);
      runtime.onLost((error) => set({ lost: error.message }));
      set({ phase: 'ready', runtime, adapter: runtime.adapter });
    } catch (error) {
      set({ phase: error instanceof WebGpuUnavailableError ? 'unavailable' : 'failed', error: message(error) });
      return;
    }
    await get().runSelfTest();
  },

  async runSelfTest() {
    const { runtime, selfTest } = get();
    if (!runtime || selfTest.status === 'running') return;
    set({ selfTest: { status: 'running' } });
    try {
      const result = await runSelfTest(runtime);
      set({ selfTest: { status: result.passed ? 'passed' : 'failed', result } });
    } catch (error) {
      set({ selfTest: { status: 'error', message: message(error) } });
    }
  },
}));

/** The browser's WebGPU entry point, or undefined where it has none. */
export const browserGpu = (): GPU | undefined =>
  typeof navigator !== 'undefined' && 'gpu' in navigator ? navigator.gpu : undefined;
