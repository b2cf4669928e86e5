/**
 * The browser benchmark page: the same products on our engine, on tfjs-backend-webgpu and on jax-js, each with
 * its own device on the same adapter, one after the other. scripts/bench-browser.mjs waits for `window.benchResult`.
 */
import { GpuRuntime } from '../../src/gpu/runtime.ts';
import { browserChoiceStore } from '../../src/checkpoint/opfs.ts';
import { installRuntime } from '../../src/tensor/engine.ts';
import { tunedAdapter } from '../adapter.ts';
import { type Check, type Row, formatTable, runCases } from '../cases.ts';
import { ceilingRow } from '../ceiling.ts';
import { cosmosWeb } from '../cosmos.ts';
import { startJaxjs } from './jaxjs.ts';
import { startTfjs } from './tfjs.ts';

export interface BrowserBenchResult {
  adapter: string;
  tfjsAdapter: string;
  rows: Row[];
  checks: Check[];
  /** formatTable(rows), for the script to print. */
  table: string;
}

declare global {
  interface Window {
    benchResult?: BrowserBenchResult;
    benchError?: string;
  }
}

const output = document.getElementById('log')!;
output.textContent = '';

function log(line: string): void {
  console.log(line);
  output.textContent += `${line}\n`;
}

async function main(): Promise<void> {
  const runtime = await GpuRuntime.create(navigator.gpu);
  installRuntime(runtime);
  const tfjs = await startTfjs();
  const adapter = await tunedAdapter(runtime.adapter, browserChoiceStore());
  log(`adapter (cosmos-web): ${adapter}`);
  log(`adapter (tfjs-webgpu): ${tfjs.adapter}`);
  const jaxjs = await startJaxjs();
  const { rows, checks } = await runCases([cosmosWeb, tfjs.impl, jaxjs], log);
  rows.push(await ceilingRow(log));
  const table = formatTable(rows);
  log(table);
  window.benchResult = { adapter, tfjsAdapter: tfjs.adapter, rows, checks, table };
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  log(`benchmark failed: ${message}`);
  window.benchError = message;
});
