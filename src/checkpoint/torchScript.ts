/**
 * The weights of a TorchScript archive (`torch.jit.save`; OpenAI's CLIP releases are such archives): its data.pkl
 * pickles the module tree, each module a record of its attributes. Its tensors, named by their dotted path as
 * `state_dict()` names them, are the weights; plain attributes (ints, strings, flags) are not, and neither are the
 * few tensors such archives carry beside the weights, listed here. The archive's code/ is never read.
 */
import { isTensorRef, type TensorRef } from './tensorRef.ts';
import { type PickleValue, ScriptObject } from './unpickle.ts';

/**
 * Tensors that are not weights: OpenAI's archives keep the model's sizes as buffers at the root (which openai/CLIP's
 * build_model and OpenCLIP's load_state_dict drop), and causal masks are buffers (OpenCLIP) or attributes (OpenAI).
 */
const NOT_WEIGHTS = /^(input_resolution|context_length|vocab_size)$|(^|\.)attn_mask$/;

export function isScriptModule(value: PickleValue): value is ScriptObject {
  return value instanceof ScriptObject;
}

/** Every tensor of the module tree under its dotted name, in the archive's order, without the non-weights. */
export function scriptModuleWeights(root: ScriptObject): Map<string, TensorRef> {
  const tensors = new Map<string, TensorRef>();
  const visit = (module: ScriptObject, prefix: string) => {
    for (const [key, value] of module.attributes) {
      const name = `${prefix}${String(key)}`;
      if (isTensorRef(value) && !NOT_WEIGHTS.test(name)) tensors.set(name, value);
      else if (value instanceof ScriptObject) visit(value, `${name}.`);
    }
  };
  visit(root, '');
  return tensors;
}
