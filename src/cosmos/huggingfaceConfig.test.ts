import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fromOpenClipHubConfig } from './config.ts';
import { fromHuggingFaceConfig, toHuggingFaceConfig } from './huggingfaceConfig.ts';
import { architectureName, PRESETS } from './presets.ts';

const HF_CONFIG = join(import.meta.dirname, '..', '..', 'fixtures', 'clip', 'huggingface', 'config.json');

describe("transformers' CLIPConfig", () => {
  it("a key left out means transformers' default: ViT-B/32 with QuickGELU and LayerNorm eps 1e-5", () => {
    const c = fromHuggingFaceConfig({ model_type: 'clip', text_config: {}, vision_config: {} });
    expect(architectureName(c)).toBe('ViT-B/32');
    const numerics = { activation: 'quick_gelu', layerNormEps: 1e-5, attnPoolerHeads: 8 };
    expect(c).toEqual({
      ...PRESETS['ViT-B/32'],
      vision: { ...PRESETS['ViT-B/32'].vision, ...numerics },
      text: { ...PRESETS['ViT-B/32'].text, ...numerics },
    });
  });

  it('reads what transformers wrote (fixtures/clip/huggingface), the legacy *_config_dict over the rest, and writes it back', () => {
    const json = JSON.parse(readFileSync(HF_CONFIG, 'utf8'));
    const c = fromHuggingFaceConfig(json);
    expect([c.vision.activation, c.vision.layerNormEps, c.text.heads, c.embedDim]).toEqual(['gelu', 1e-6, 2, 32]);
    expect(fromHuggingFaceConfig({ ...json, vision_config_dict: { hidden_act: 'quick_gelu' } }).vision.activation).toBe('quick_gelu');
    expect(fromHuggingFaceConfig(toHuggingFaceConfig(c))).toEqual(c);
  });

  it('refuses what it cannot compute, naming the key', () => {
    const base = { model_type: 'clip', text_config: {}, vision_config: {} };
    const refused: [unknown, string][] = [
      [{ ...base, vision_config: { hidden_act: 'gelu_new' } }, 'config.json: vision_config.hidden_act is "gelu_new"; this engine computes gelu and quick_gelu'],
      [
        { ...base, vision_config: { image_size: [224, 160] } },
        'config.json: vision_config.image_size (a square image) must be a positive integer, not [224,160]',
      ],
      [
        { ...base, text_config: { eos_token_id: 7 } },
        'config.json: text_config.eos_token_id is 7; this engine pools the text at its largest token id, the end-of-text token only when it is vocab_size - 1 (49407)',
      ],
      [
        { model_type: 'clip_vision_model', architectures: ['CLIPVisionModelWithProjection'] },
        'config.json describes a Hugging Face clip_vision_model model (CLIPVisionModelWithProjection), not a CLIPModel (model_type "clip", architectures ["CLIPModel"])',
      ],
    ];
    for (const [json, message] of refused) expect(() => fromHuggingFaceConfig(json)).toThrow(message);
    // transformers' fix of eos_token_id (its PR #24773): 2 means argmax pooling, what this engine does.
    expect(() => fromHuggingFaceConfig({ ...base, text_config: { eos_token_id: 2 } })).not.toThrow();
  });
});

describe("OpenCLIP's hub config", () => {
  it("reads model_cfg, and refuses preprocessing other than this engine's", () => {
    const model_cfg = { embed_dim: 64, vision_cfg: { width: 64 }, text_cfg: { width: 64 } };
    expect(fromOpenClipHubConfig({ model_cfg, preprocess_cfg: { mean: [0.48145466, 0.4578275, 0.40821073] } }).embedDim).toBe(64);
    expect(() => fromOpenClipHubConfig({ model_cfg, preprocess_cfg: { mean: [0.5, 0.5, 0.5] } })).toThrow(
      'open_clip_config.json: preprocess_cfg.mean is [0.5,0.5,0.5]; this engine preprocesses images with [0.48145466,0.4578275,0.40821073]',
    );
    expect(() => fromOpenClipHubConfig({ preprocess_cfg: {} })).toThrow('open_clip_config.json has no model_cfg (an OpenCLIP model config)');
  });
});
