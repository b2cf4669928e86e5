/**
 * Whether a live PyTorch check runs depends on whether its script imports everything it needs here, asked first
 * (`script.py probe`), not on whether `import torch` happens to work: a script that cannot import is skipped with
 * the reason, one that can runs.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PYTHON, pythonProbe } from './python.ts';

const dir = mkdtempSync(join(tmpdir(), 'cosmos-probe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!existsSync(PYTHON))('the probe before a live check', () => {
  it('names the import that fails, and passes a script whose imports all work', () => {
    const missing = join(dir, 'needs-missing.py');
    writeFileSync(missing, 'import json\nimport cosmos_web_not_installed_here\n');
    expect(pythonProbe(missing)).toBe("needs-missing.py cannot import what it needs: ModuleNotFoundError: No module named 'cosmos_web_not_installed_here'");
    const fine = join(dir, 'needs-json.py');
    writeFileSync(fine, 'import json\nimport sys\nif sys.argv[1:] == ["probe"]:\n    sys.exit(0)\n');
    expect(pythonProbe(fine)).toBeNull();
  });
});
