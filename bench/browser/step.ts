/**
 * The training-step benchmark page: bench/step/runSteps.ts on the page's WebGPU, with the app's scenes and tokenizer
 * fetched as the app fetches them. The query takes the flags of `npm run bench:step` (only, reps, warmup);
 * bench/step/main.ts waits for `window.stepBenchResult`.
 */
import { ClipTokenizer } from '../../src/data/tokenizer.ts';
import { loadSceneAtlas } from '../../src/data/scenes.ts';
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { browserChoiceStore } from '../../src/checkpoint/opfs.ts';
import { installRuntime } from '../../src/tensor/engine.ts';
import { tunedAdapter } from '../adapter.ts';
import { selectCases } from '../step/cases.ts';
import { type StepBenchResult, runSteps } from '../step/runSteps.ts';

declare global {
  interface Window {
    stepBenchResult?: StepBenchResult;
    benchError?: string;
  }
}

const output = document.getElementById('log')!;
output.textContent = '';

function log(line: string): void {
  console.log(line);
  output.textContent += `${line}\n`;
}

const query = new URLSearchParams(location.search);
const count = (name: string): number | undefined => (query.has(name) ? Number(query.get(name)) : undefined);

async function main(): Promise<void> {
  const cases = selectCases({ only: query.get('only') ?? undefined, reps: count('reps'), warmup: count('warmup') });
  const runtime = await GpuRuntime.create(navigator.gpu);
  installRuntime(runtime);
  const adapter = await tunedAdapter(runtime.adapter, browserChoiceStore());
  log(`adapter: ${adapter}`);
  const [atlas, tokenizer] = await Promise.all([loadSceneAtlas(), ClipTokenizer.load()]);
  window.stepBenchResult = await runSteps(cases, { atlas, tokenizer }, { runtime: 'chromium', adapter }, log);
  runtime.destroy();
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  log(`benchmark failed: ${message}`);
  window.benchError = message;
});
