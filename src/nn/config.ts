/**
 * The shapes of OpenCLIP's two towers, as the modules of this folder build them. Field for field these are
 * OpenCLIP's CLIPVisionCfg and CLIPTextCfg (widths in place of ratios); cosmos/config.ts reads and writes them in
 * OpenCLIP's JSON schema.
 */
export interface VisionConfig {
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
  /** Heads of the cross-attention pooler over this tower's patch tokens (visual.attn_cross_pool). */
  attnPoolerHeads: number;
}

export interface TextConfig {
  contextLength: number;
  vocabSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
  /** Heads of the cross-attention pooler over this tower's tokens (text_attn_cross_pool). */
  attnPoolerHeads: number;
}
