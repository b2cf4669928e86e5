/**
 * `export --format openclip` of a COSMOS checkpoint, read back by PyTorch (live): the COSMOS reference's own code
 * (scripts/fixtures/cosmos_hub.py) builds its model from the folder's open_clip_config.json, loads
 * open_clip_model.safetensors strictly, and must compute what our `embed --attention` computes from the checkpoint
 * the folder was exported from: embeddings, logits and both cross-attention poolers' maps.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { expectClose, type FixtureTensor } from '../testing/fixtures.ts';
import { cliJson, tempDir, writeTestCheckpoint, writeTestPng } from '../testing/cli.ts';
import { setupTestGpu } from '../testing/gpu.ts';
import { livePythonScript, PYTHON } from '../testing/python.ts';

const runtime = setupTestGpu();
const tmp = tempDir();
afterAll(() => tmp.remove());
const at = (name: string) => join(tmp.dir, name);

const LIVE = livePythonScript('cosmos_hub.py');
const KEYS = ['image_embeddings', 'text_embeddings', 'logits', 'image_attention', 'text_attention'] as const;
// Images at the model's 32 x 32, so that both sides' resize leaves them as they are and only the model is compared.
const IMAGES = [at('a.png'), at('b.png')];
const TEXTS = ['a red square', 'Two cats sleeping on a sofa. A dog watches them from the door.'];
/** float32 arithmetic in a different order than PyTorch's, as in reference.test.ts: a few ulps, well inside 1e-5. */
const TOLERANCE = { rtol: 0, atol: 1e-5 };

describe('a COSMOS checkpoint exported as an OpenCLIP hub folder', () => {
  it.skipIf(LIVE.skipped !== null)(
    `the COSMOS reference loads it strictly and computes what we compute from the checkpoint (live)${LIVE.skipped ? ` (skipped: ${LIVE.skipped})` : ''}`,
    async () => {
      const ckpt = at('cosmos.pt');
      const hub = at('hub');
      await writeTestCheckpoint(ckpt);
      await Promise.all(IMAGES.map((path, i) => writeTestPng(path, 32, 32, i)));
      await cliJson(runtime, 'export', '--checkpoint', ckpt, '--format', 'openclip', '--out', hub);
      const ours = await cliJson(runtime, 'embed', '--checkpoint', ckpt, '--image', ...IMAGES, '--text', ...TEXTS, '--attention');
      const run = spawnSync(PYTHON, [LIVE.path, 'embed', hub, '--image', ...IMAGES, '--text', ...TEXTS], { encoding: 'utf8' });
      if (run.status !== 0) throw new Error(`cosmos_hub.py embed failed: ${run.stderr}`);
      const reference = JSON.parse(run.stdout) as Record<(typeof KEYS)[number], FixtureTensor>;
      for (const key of KEYS) expectClose((ours[key] as unknown[]).flat(3) as number[], reference[key], TOLERANCE, key);
    },
  );
});
