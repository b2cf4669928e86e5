/**
 * The explicit attention path (attentionProbabilities, then attendWith) and one block's relevance term
 * (positiveHeadMean) against PyTorch (fixtures/attention-probabilities.json, scripts/fixtures/attention_probabilities.py):
 * the output, the gradient with respect to the probabilities themselves, and the inputs' gradients.
 */
import { describe, expect, it } from 'vitest';
import { expectTensorClose, fixtureTensor, loadFixture } from '../../testing/fixtures.ts';
import { setupTestGpu } from '../../testing/gpu.ts';
import { scopeAsync } from '../scope.ts';
import { gradients } from '../tape.ts';
import { attendWith, attention, attentionProbabilities } from './attention.ts';
import { mul } from './elementwise.ts';
import { sumAll } from './reduce.ts';
import { positiveHeadMean } from './relevance.ts';

setupTestGpu();

// The fused attention's allowance (attention.test.ts): sums of up to 17 terms in another order than PyTorch's.
const TOL = { rtol: 1e-5, atol: 1e-6 };

describe('explicit attention and its relevance term against PyTorch', () => {
  for (const c of loadFixture('attention-probabilities')) {
    const opts = { heads: c.attrs.heads as number, causal: c.attrs.causal as boolean };

    it(`${c.name}: probabilities, output, every gradient, the relevance term`, async () => {
      await scopeAsync(async () => {
        const leaf = (name: string) => fixtureTensor(c, name, { requiresGrad: true });
        const [q, k, v] = [leaf('q'), leaf('k'), leaf('v')];
        const probs = attentionProbabilities(q, k, opts);
        const out = attendWith(probs, v, opts);
        await expectTensorClose(probs, c.tensors.probs!, TOL, 'probs');
        await expectTensorClose(out, c.tensors.out!, TOL, 'out');
        // The same output as the fused kernel's.
        await expectTensorClose(attention(q, k, v, opts).out, c.tensors.out!, TOL, 'fused out');
        const loss = sumAll(mul(out, fixtureTensor(c, 'grad_out')));
        const [gradProbs, gradQ, gradK, gradV] = gradients(loss, [probs, q, k, v]);
        for (const [got, name] of [
          [gradProbs, 'grad_probs'],
          [gradQ, 'grad_q'],
          [gradK, 'grad_k'],
          [gradV, 'grad_v'],
        ] as const) {
          await expectTensorClose(got!, c.tensors[name]!, TOL, name);
        }
        // gradients() leaves the leaves' .grad alone.
        expect([q.grad, k.grad, v.grad]).toEqual([null, null, null]);
        await expectTensorClose(positiveHeadMean(gradProbs!, probs), c.tensors.relevance_term!, TOL, 'relevance term');
      });
    });

    it(`${c.name}: the probabilities as a leaf (q and k need no gradient) get the same gradient`, async () => {
      await scopeAsync(async () => {
        const probs = attentionProbabilities(fixtureTensor(c, 'q'), fixtureTensor(c, 'k'), opts);
        expect(probs.node).toBeNull();
        probs.requiresGrad = true;
        const loss = sumAll(mul(attendWith(probs, fixtureTensor(c, 'v'), opts), fixtureTensor(c, 'grad_out')));
        const [gradProbs] = gradients(loss, [probs]);
        await expectTensorClose(gradProbs!, c.tensors.grad_probs!, TOL, 'grad_probs');
        expect(probs.grad).toBeNull();
      });
    });
  }
});
