/**
 * Live checks against PyTorch, beside the committed fixtures: a test runs a fixture script on what it just wrote.
 * Whether one runs must not depend on what happens to be installed half-way (torch without torchvision, say), so a
 * script is first asked to import everything it needs (`script.py probe`); only when that works does the check
 * run. COSMOS_LIVE_PYTHON=1 demands the checks: a script that cannot import then fails the test instead.
 */
import { spawnSync } from 'node:child_process';
import { basename, join } from 'node:path';

export const PYTHON = '/usr/bin/python3';
const SCRIPTS = join(import.meta.dirname, '..', '..', 'scripts', 'fixtures');

export interface LiveScript {
  /** The script's path, for spawnSync. */
  path: string;
  /** Why the live check is skipped here; null when it runs. */
  skipped: string | null;
}

/** Why the script at `path` cannot run here (it cannot import what it needs, `script.py probe`), or null. */
export function pythonProbe(path: string): string | null {
  const probe = spawnSync(PYTHON, [path, 'probe'], { encoding: 'utf8' });
  if (probe.error !== undefined) return `${PYTHON} cannot be started (${probe.error.message})`;
  if (probe.status !== 0) return `${basename(path)} cannot import what it needs: ${lastLine(probe.stderr) || `exit ${probe.status}`}`;
  return null;
}

/** `name` (a file in scripts/fixtures) if it imports everything it needs on this machine. */
export function livePythonScript(name: string): LiveScript {
  const path = join(SCRIPTS, name);
  const why = pythonProbe(path);
  if (why && process.env.COSMOS_LIVE_PYTHON === '1') throw new Error(`COSMOS_LIVE_PYTHON=1 but ${why}`);
  if (why) console.warn(`skipped the live PyTorch check of ${name}: ${why}; the committed fixtures were checked`);
  return { path, skipped: why };
}

export const lastLine = (text: string): string => text.trim().split('\n').at(-1) ?? '';
