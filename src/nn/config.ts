/**
 * The shapes of OpenCLIP's two towers, as the modules of this folder build them. Field for field these are
 * OpenCLIP's CLIPVisionCfg and CLIPTextCfg (widths in place of ratios); cosmos/config.ts reads and writes them in
 * OpenCLIP's JSON schema.
 */
/** The MLP's activation: exact GELU (OpenCLIP's default) or QuickGELU, x * sigmoid(1.702 x) (OpenAI's CLIP). */
export type Activation = 'gelu' | 'quick_gelu';

/** What every block of a tower computes with: its MLP's activation and its LayerNorms' epsilon. */
export interface TowerNumerics {
  activation: Activation;
  /** Every LayerNorm of the tower (OpenCLIP's norm_kwargs eps, Hugging Face's layer_norm_eps); 1e-5 by default. */
  layerNormEps: number;
}

export interface VisionConfig extends TowerNumerics {
  imageSize: number;
  patchSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
  /** Heads of the cross-attention pooler over this tower's patch tokens (visual.attn_cross_pool). */
  attnPoolerHeads: number;
}

export interface TextConfig extends TowerNumerics {
  contextLength: number;
  vocabSize: number;
  width: number;
  layers: number;
  heads: number;
  mlpWidth: number;
  /** Heads of the cross-attention pooler over this tower's tokens (text_attn_cross_pool). */
  attnPoolerHeads: number;
}
