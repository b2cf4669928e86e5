/**
 * SCLIP's correlative self-attention (CSA) for dense prediction: in the last vision block, each head mixes the
 * values with softmax(q q^T / sqrt(d)) + softmax(k k^T / sqrt(d)) instead of softmax(q k^T / sqrt(d)), so that
 * every patch attends to patches like itself. The block's projections, residuals and MLP are kept
 * (COSMOS-SPEC section 7). Built on the block's public modules; the modules themselves are left as they are.
 */
import type { MultiheadAttention } from '../nn/attention.ts';
import type { ResidualAttentionBlock } from '../nn/transformer.ts';
import type { VisionFeatures, VisionTransformer } from '../nn/vision.ts';
import { attention } from '../tensor/ops/attention.ts';
import { add } from '../tensor/ops/elementwise.ts';
import { linear } from '../tensor/ops/matmul.ts';
import { slice } from '../tensor/ops/shape.ts';
import type { Tensor } from '../tensor/tensor.ts';

/** CSA over x [B, T, E] with the attention's packed q, k, v projections and its out_proj. */
export function csaAttention(attn: MultiheadAttention, x: Tensor): Tensor {
  const e = attn.embedDim;
  const qkv = linear(x, attn.inProjWeight, attn.inProjBias);
  const last = qkv.shape.length - 1;
  const [q, k, v] = [0, 1, 2].map((i) => slice(qkv, last, i * e, (i + 1) * e)) as [Tensor, Tensor, Tensor];
  const opts = { heads: attn.heads };
  return attn.outProj.forward(add(attention(q, q, v, opts).out, attention(k, k, v, opts).out));
}

/** The pre-LN block with CSA in place of its attention: x + csa(ln_1(x)), then + mlp(ln_2(.)). */
export function csaBlock(block: ResidualAttentionBlock, x: Tensor): Tensor {
  const attended = add(x, csaAttention(block.attn, block.ln1.forward(x)));
  return add(attended, block.mlp.forward(block.ln2.forward(attended)));
}

/**
 * The vision tower's forward with its last block in CSA mode. The block's forward is swapped for this call only
 * (and restored even when the forward throws), so the rest of the tower runs its own code unchanged.
 */
export function encodeImageWithCsa(visual: VisionTransformer, images: Tensor): VisionFeatures {
  const last = visual.transformer.resblocks.at(-1);
  if (!last) throw new Error('CSA needs a vision tower with at least one block');
  const own = Object.getOwnPropertyDescriptor(last, 'forward');
  last.forward = (x: Tensor) => csaBlock(last, x);
  try {
    return visual.forward(images);
  } finally {
    if (own) Object.defineProperty(last, 'forward', own);
    else delete (last as { forward?: unknown }).forward;
  }
}
