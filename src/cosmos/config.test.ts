import { describe, expect, it } from 'vitest';
import { type CosmosConfig, DEFAULT_NUMERICS, fromOpenClipConfig, inferConfig, type OpenClipModelConfig, toOpenClipConfig } from './config.ts';
import { configFromShapes, PRESETS } from './presets.ts';

/** The parameter shapes a config gives, for inference. */
function shapesOf(c: CosmosConfig): Map<string, number[]> {
  const { vision: v, text: t } = c;
  const shapes = new Map<string, number[]>([
    ['visual.conv1.weight', [v.width, 3, v.patchSize, v.patchSize]],
    ['visual.positional_embedding', [(v.imageSize / v.patchSize) ** 2 + 1, v.width]],
    ['visual.proj', [v.width, c.embedDim]],
    ['positional_embedding', [t.contextLength, t.width]],
    ['token_embedding.weight', [t.vocabSize, t.width]],
    ['text_projection', [t.width, c.embedDim]],
  ]);
  for (let i = 0; i < v.layers; i++) {
    shapes.set(`visual.transformer.resblocks.${i}.ln_1.weight`, [v.width]);
    shapes.set(`visual.transformer.resblocks.${i}.mlp.c_fc.weight`, [v.mlpWidth, v.width]);
  }
  for (let i = 0; i < t.layers; i++) {
    shapes.set(`transformer.resblocks.${i}.ln_1.weight`, [t.width]);
    shapes.set(`transformer.resblocks.${i}.mlp.c_fc.weight`, [t.mlpWidth, t.width]);
  }
  return shapes;
}

describe('OpenCLIP model configs', () => {
  it("a key left out means OpenCLIP's dataclass default (CLIPVisionCfg, CLIPTextCfg)", () => {
    expect(fromOpenClipConfig({ embed_dim: 512, vision_cfg: {}, text_cfg: {} })).toEqual({
      embedDim: 512,
      vision: { imageSize: 224, patchSize: 16, width: 768, layers: 12, heads: 12, mlpWidth: 3072, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
      text: { contextLength: 77, vocabSize: 49408, width: 512, layers: 12, heads: 8, mlpWidth: 2048, attnPoolerHeads: 8, ...DEFAULT_NUMERICS },
    });
    expect(DEFAULT_NUMERICS).toEqual({ activation: 'gelu', layerNormEps: 1e-5 });
    // Text heads are 8 whatever the width (not width / 64); the poolers' 8 whatever embed_dim.
    const small = fromOpenClipConfig({ embed_dim: 32, vision_cfg: { width: 128, head_width: 32 }, text_cfg: { width: 64 } });
    expect([small.vision.heads, small.text.heads, small.vision.attnPoolerHeads, small.text.attnPoolerHeads]).toEqual([4, 8, 8, 8]);
  });

  it('names every key it writes, and reads back what it wrote', () => {
    for (const preset of Object.values(PRESETS)) {
      const json = toOpenClipConfig(preset);
      expect(Object.keys(json).sort()).toEqual(['embed_dim', 'quick_gelu', 'text_cfg', 'vision_cfg']);
      expect(Object.keys(json.vision_cfg).sort()).toEqual([
        'attn_pooler_heads',
        'head_width',
        'image_size',
        'layers',
        'mlp_ratio',
        'norm_kwargs',
        'patch_size',
        'width',
      ]);
      expect(Object.keys(json.text_cfg).sort()).toEqual([
        'attn_pooler_heads',
        'context_length',
        'heads',
        'layers',
        'mlp_ratio',
        'norm_kwargs',
        'vocab_size',
        'width',
      ]);
      expect(fromOpenClipConfig(json)).toEqual(preset);
    }
  });

  it("reads QuickGELU (quick_gelu) and a tower's LayerNorm eps (norm_kwargs), and writes them back", () => {
    const json: OpenClipModelConfig = { embed_dim: 64, quick_gelu: true, vision_cfg: { width: 64, norm_kwargs: { eps: 1e-6 } }, text_cfg: { width: 64 } };
    const c = fromOpenClipConfig(json);
    expect([c.vision.activation, c.text.activation, c.vision.layerNormEps, c.text.layerNormEps]).toEqual(['quick_gelu', 'quick_gelu', 1e-6, 1e-5]);
    expect(fromOpenClipConfig(toOpenClipConfig(c))).toEqual(c);
    expect(toOpenClipConfig(c).quick_gelu).toBe(true);
    // OpenCLIP has one activation for both towers: a model whose towers differ has no OpenCLIP config.
    expect(() => toOpenClipConfig({ ...c, text: { ...c.text, activation: 'gelu' } })).toThrow(/one activation for both \(quick_gelu\)/);
  });

  it('reads the poolers heads of files written before, from cosmos_cfg.pooler_heads', () => {
    const old = { embed_dim: 32, cosmos_cfg: { pooler_heads: 2 }, vision_cfg: { width: 32, head_width: 16 }, text_cfg: { width: 32 } };
    const c = fromOpenClipConfig(old);
    expect([c.vision.attnPoolerHeads, c.text.attnPoolerHeads]).toEqual([2, 2]);
    // A per-tower key wins over the old one.
    expect(fromOpenClipConfig({ ...old, text_cfg: { width: 32, attn_pooler_heads: 4 } }).text.attnPoolerHeads).toBe(4);
  });

  it('refuses what it cannot build, naming the key', () => {
    const base: OpenClipModelConfig = { embed_dim: 64, vision_cfg: { width: 64 }, text_cfg: { width: 64 } };
    const refused: [OpenClipModelConfig, RegExp][] = [
      [{ ...base, quick_gelu: 'yes' as unknown as boolean }, /quick_gelu must be true or false, not "yes"/],
      [
        { ...base, vision_cfg: { width: 64, norm_kwargs: { eps: 1e-6, elementwise_affine: false } as never } },
        /vision_cfg\.norm_kwargs\.elementwise_affine is set/,
      ],
      [{ ...base, vision_cfg: { width: 64, ls_init_value: 1e-5 } }, /vision_cfg\.ls_init_value is 0\.00001/],
      [{ ...base, text_cfg: { width: 64, hf_model_name: 'roberta-base' } }, /text_cfg\.hf_model_name is "roberta-base"/],
      [{ ...base, vision_cfg: { layers: [3, 4, 6, 3] as unknown as number, width: 64 } }, /ModifiedResNet/],
      [{ ...base, embed_dim: 36 }, /vision_cfg\.attn_pooler_heads \(over embed_dim\) is 8, which does not divide the width 36/],
      [{ ...base, text_cfg: { width: 64, heads: 5 } }, /text_cfg\.heads is 5, which does not divide the width 64/],
      [{ ...base, vision_cfg: { width: 64, image_size: 30, patch_size: 8 } }, /image_size 30 is not a multiple of patch_size 8/],
      [
        { ...base, vision_cfg: { width: 64, image_size: [224, 224] as unknown as number } },
        /vision_cfg\.image_size \(a square image\) must be a positive integer/,
      ],
    ];
    for (const [json, message] of refused) expect(() => fromOpenClipConfig(json)).toThrow(message);
  });

  it('infers from shapes: tower heads 64 wide, pooler heads 8, unless the shapes are exactly a preset', () => {
    const b16 = PRESETS['ViT-B/16'];
    expect(inferConfig(shapesOf(b16))).toEqual(b16);
    const other = fromOpenClipConfig({ embed_dim: 256, vision_cfg: { width: 256, layers: 2, image_size: 64 }, text_cfg: { width: 128, layers: 2 } });
    expect(inferConfig(shapesOf(other))).toEqual({ ...other, text: { ...other.text, heads: 2 } });
    expect(inferConfig(shapesOf(other)).vision.attnPoolerHeads).toBe(8);
    // The tiny preset's shapes: its own heads (2 of 32), not 64-wide ones.
    expect(configFromShapes(shapesOf(PRESETS.tiny))).toEqual(PRESETS.tiny);
  });
});
