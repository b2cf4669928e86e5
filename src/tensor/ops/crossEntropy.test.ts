import { describe, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { backward } from '../tape.ts';
import { multiViewClipLoss } from './clipLoss.ts';
import { crossEntropy } from './crossEntropy.ts';

setupTestGpu();

// Loss: a logsumexp over up to 300 columns minus one logit, averaged over up to 77 rows; logits reach 100, so
// a few ulp of 100 (~1e-5) is the scale of float32 rounding in both PyTorch and here.
const LOSS = { rtol: 1e-5, atol: 1e-5 };
// Gradient: (softmax - onehot) / N, each element from one exp: float32 rounding, relative to the row's largest
// entry (1 / N), not to tiny probabilities, hence the absolute part.
const GRAD = { rtol: 1e-5, atol: 1e-7 };

describe('crossEntropy against PyTorch', () => {
  for (const c of loadFixture('losses').filter((k) => k.attrs.op === 'crossEntropy')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const logits = fixtureTensor(c, 'logits', { requiresGrad: true });
        const loss = crossEntropy(logits, fixtureTensor(c, 'targets', { dtype: 'i32' }));
        await expectTensorClose(loss, c.tensors.out!, LOSS, 'loss');
        backward(loss, fixtureTensor(c, 'grad_out'));
        await expectTensorClose(logits.grad!, c.tensors.grad_logits!, GRAD, 'grad logits');
        logits.dispose();
      });
    });
  }
});

// The multi-view CLIP loss: every pair's CE over rows and columns of s * cosines (s up to 100), averaged; its
// float32 rounding is that of the single cross-entropy above. Gradients of a and b are products of the logits'
// gradient (each (softmax - onehot) * s / N) with unit vectors: relative to their largest entries.
const CLIP_GRAD = { rtol: 1e-5, atol: 1e-6 };

describe('multiViewClipLoss against the reference ClipLoss over lists of views', () => {
  for (const c of loadFixture('losses').filter((k) => k.attrs.op === 'multiViewClipLoss')) {
    it(c.name, async () => {
      await scopeAsync(async () => {
        const [a, b] = [fixtureTensor(c, 'a', { requiresGrad: true }), fixtureTensor(c, 'b', { requiresGrad: true })];
        const logScale = fixtureTensor(c, 'log_scale', { requiresGrad: true });
        const loss = multiViewClipLoss(a, b, logScale, c.attrs.batch as number);
        await expectTensorClose(loss, c.tensors.out!, LOSS, 'loss');
        backward(loss, fixtureTensor(c, 'grad_out'));
        await expectTensorClose(a.grad!, c.tensors.grad_a!, CLIP_GRAD, 'grad a');
        await expectTensorClose(b.grad!, c.tensors.grad_b!, CLIP_GRAD, 'grad b');
        await expectTensorClose(logScale.grad!, c.tensors.grad_log_scale!, LOSS, 'grad log scale');
        for (const t of [a, b, logScale]) t.dispose();
      });
    });
  }
});
