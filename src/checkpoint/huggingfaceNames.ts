/**
 * Hugging Face transformers' CLIPModel state_dict names, to OpenCLIP's and back (read from transformers'
 * models/clip/modeling_clip.py and its convert_clip_original_pytorch_to_hf.py). Most tensors are only renamed;
 * the projections are nn.Linear weights there ([out, in]) and matrices applied on the right in OpenCLIP ([in, out]),
 * so they are transposed; each attention's separate q_proj, k_proj and v_proj are OpenCLIP's packed in_proj (rows
 * q, then k, then v). The work is done on the host when a tensor is read, one tensor at a time.
 */
import type { DType } from './dtypes.ts';
import { contiguousStride, product, type TensorRef, type TensorSource } from './tensorRef.ts';

/** OpenCLIP name, Hugging Face name. */
const RENAMED: [string, string][] = [
  ['logit_scale', 'logit_scale'],
  ['token_embedding.weight', 'text_model.embeddings.token_embedding.weight'],
  ['positional_embedding', 'text_model.embeddings.position_embedding.weight'],
  ['ln_final.weight', 'text_model.final_layer_norm.weight'],
  ['ln_final.bias', 'text_model.final_layer_norm.bias'],
  ['visual.class_embedding', 'vision_model.embeddings.class_embedding'],
  ['visual.conv1.weight', 'vision_model.embeddings.patch_embedding.weight'],
  ['visual.positional_embedding', 'vision_model.embeddings.position_embedding.weight'],
  ['visual.ln_pre.weight', 'vision_model.pre_layrnorm.weight'],
  ['visual.ln_pre.bias', 'vision_model.pre_layrnorm.bias'],
  ['visual.ln_post.weight', 'vision_model.post_layernorm.weight'],
  ['visual.ln_post.bias', 'vision_model.post_layernorm.bias'],
];
const TRANSPOSED: [string, string][] = [
  ['visual.proj', 'visual_projection.weight'],
  ['text_projection', 'text_projection.weight'],
];
/** Within one block. */
const BLOCK_RENAMED: [string, string][] = [
  ['ln_1.weight', 'layer_norm1.weight'],
  ['ln_1.bias', 'layer_norm1.bias'],
  ['ln_2.weight', 'layer_norm2.weight'],
  ['ln_2.bias', 'layer_norm2.bias'],
  ['mlp.c_fc.weight', 'mlp.fc1.weight'],
  ['mlp.c_fc.bias', 'mlp.fc1.bias'],
  ['mlp.c_proj.weight', 'mlp.fc2.weight'],
  ['mlp.c_proj.bias', 'mlp.fc2.bias'],
  ['attn.out_proj.weight', 'self_attn.out_proj.weight'],
  ['attn.out_proj.bias', 'self_attn.out_proj.bias'],
];
/** OpenCLIP's packed attention input, by what it packs: weight or bias. */
const PACKED = { weight: 'attn.in_proj_weight', bias: 'attn.in_proj_bias' } as const;
const QKV = ['q', 'k', 'v'] as const;
/** The blocks of each tower: OpenCLIP prefix, Hugging Face prefix. */
const TOWERS: [string, string][] = [
  ['visual.transformer.resblocks.', 'vision_model.encoder.layers.'],
  ['transformer.resblocks.', 'text_model.encoder.layers.'],
];
const HF_BLOCK = /^(vision_model|text_model)\.encoder\.layers\.(\d+)\.(.+)$/;
const HF_QKV = /^self_attn\.([qkv])_proj\.(weight|bias)$/;
/** Buffers of the embeddings (token positions 0..n-1), which older files kept: not weights. */
const HF_NOT_WEIGHTS = /^(text_model|vision_model)\.embeddings\.position_ids$/;

/** Whether a state_dict is named as transformers' CLIPModel names it. */
export function hasHuggingFaceClipNames(names: Iterable<string>): boolean {
  for (const name of names) if (name.startsWith('text_model.') || name.startsWith('vision_model.')) return true;
  return false;
}

function transpose2d(values: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = values[r * cols + c]!;
  return out;
}

/** A tensor computed from stored ones when read, as a TensorRef (contiguous, its own storage key). */
function derived(key: string, dtype: DType, shape: readonly number[], read: () => Promise<Float32Array>): TensorRef {
  return { dtype, shape, stride: contiguousStride(shape), storageOffset: 0, storageKey: key, numel: product(shape), read };
}

function transposed(name: string, t: TensorRef): TensorRef {
  if (t.shape.length !== 2) throw new Error(`${name} has shape [${t.shape.join(', ')}], not a matrix`);
  const [rows, cols] = t.shape as [number, number];
  return derived(`${t.storageKey}^T`, t.dtype, [cols, rows], async () => transpose2d(await t.read(), rows, cols));
}

/** q, k and v stacked along the first axis, as nn.MultiheadAttention packs them. */
function packed(name: string, parts: TensorRef[]): TensorRef {
  const [q] = parts as [TensorRef];
  if (parts.some((p) => p.dtype !== q.dtype || p.shape.join() !== q.shape.join())) {
    throw new Error(`${name}: q_proj, k_proj and v_proj differ in shape or type (${parts.map((p) => `[${p.shape.join(', ')}] ${p.dtype}`).join(', ')})`);
  }
  return derived(parts.map((p) => p.storageKey).join('+'), q.dtype, [3 * q.shape[0]!, ...q.shape.slice(1)], async () => {
    const out = new Float32Array(3 * q.numel);
    for (const [i, p] of parts.entries()) out.set(await p.read(), i * q.numel);
    return out;
  });
}

/**
 * A transformers CLIPModel state_dict under OpenCLIP's names. Names it does not know are kept as they are (the
 * model's strict key check then names them), and so are q/k/v projections missing a partner.
 */
export function fromHuggingFaceNames(tensors: ReadonlyMap<string, TensorRef>): Map<string, TensorRef> {
  const renamed = new Map(RENAMED.map(([ours, theirs]) => [theirs, ours]));
  const transposes = new Map(TRANSPOSED.map(([ours, theirs]) => [theirs, ours]));
  const blockRenamed = new Map(BLOCK_RENAMED.map(([ours, theirs]) => [theirs, ours]));
  const towers = new Map(TOWERS.map(([ours, theirs]) => [theirs, ours]));
  const out = new Map<string, TensorRef>();
  /** OpenCLIP in_proj name -> its q, k and v parts: [Hugging Face name, tensor] by letter. */
  const packs = new Map<string, Map<string, [string, TensorRef]>>();
  for (const [name, t] of tensors) {
    if (HF_NOT_WEIGHTS.test(name)) continue;
    const block = HF_BLOCK.exec(name);
    if (renamed.has(name)) out.set(renamed.get(name)!, t);
    else if (transposes.has(name)) out.set(transposes.get(name)!, transposed(name, t));
    else if (block) {
      const [, tower, layer, rest] = block as unknown as [string, string, string, string];
      const prefix = `${towers.get(`${tower}.encoder.layers.`)!}${layer}.`;
      const qkv = HF_QKV.exec(rest);
      if (blockRenamed.has(rest)) out.set(prefix + blockRenamed.get(rest)!, t);
      else if (qkv) {
        const target = prefix + PACKED[qkv[2] as 'weight' | 'bias'];
        if (!packs.has(target)) packs.set(target, new Map());
        packs.get(target)!.set(qkv[1]!, [name, t]);
      } else out.set(name, t);
    } else out.set(name, t);
  }
  for (const [target, parts] of packs) {
    const inOrder = QKV.flatMap((letter) => (parts.has(letter) ? [parts.get(letter)!] : []));
    if (inOrder.length === 3)
      out.set(
        target,
        packed(
          target,
          inOrder.map(([, t]) => t),
        ),
      );
    else for (const [name, t] of inOrder) out.set(name, t);
  }
  return out;
}

/**
 * OpenCLIP-named tensors (a CLIP model's: the caller leaves COSMOS's parts out) under transformers' CLIPModel
 * names, in transformers' layout; a name it does not know is an error, since transformers would not load it.
 */
export function toHuggingFaceNames(tensors: ReadonlyMap<string, TensorSource>): Map<string, TensorSource> {
  const renamed = new Map(RENAMED);
  const transposes = new Map(TRANSPOSED);
  const blockRenamed = new Map(BLOCK_RENAMED);
  const out = new Map<string, TensorSource>();
  for (const [name, t] of tensors) {
    const tower = TOWERS.find(([ours]) => name.startsWith(ours));
    const block = tower && /^(\d+)\.(.+)$/.exec(name.slice(tower[0].length));
    if (renamed.has(name)) out.set(renamed.get(name)!, t);
    else if (transposes.has(name)) {
      const [rows, cols] = t.shape as [number, number];
      out.set(transposes.get(name)!, { shape: [cols, rows], read: async () => transpose2d(await t.read(), rows, cols) });
    } else if (tower && block && blockRenamed.has(block[2]!)) out.set(`${tower[1]}${block[1]}.${blockRenamed.get(block[2]!)}`, t);
    else if (tower && block && Object.values(PACKED).includes(block[2] as (typeof PACKED)[keyof typeof PACKED])) {
      const kind = block[2] === PACKED.weight ? 'weight' : 'bias';
      const [three, ...rest] = t.shape as [number, ...number[]];
      const part = (three / 3) * product(rest);
      for (const [i, qkv] of QKV.entries()) {
        out.set(`${tower[1]}${block[1]}.self_attn.${qkv}_proj.${kind}`, {
          shape: [three / 3, ...rest],
          read: async () => (await t.read()).slice(i * part, (i + 1) * part),
        });
      }
    } else throw new Error(`${name} has no counterpart in a Hugging Face CLIPModel`);
  }
  return out;
}
