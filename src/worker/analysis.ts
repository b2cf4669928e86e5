/**
 * The analysis requests of the app's panels (AnalysisRequest in protocol.ts), answered in the worker with the
 * engine: cross-attention heatmaps, the vision tower's self-attention, gradient x attention relevance, the training views of a sample,
 * retrieval, zero-shot classification and segmentation. Errors a user can cause throw sentences for the page.
 */
import { type ClipModel, isCosmosModel, NO_CROSS_ATTENTION } from '../cosmos/model.ts';
import type { TrainingRun } from '../cosmos/training.ts';
import { type TrainingData, sceneData } from '../data/dataset.ts';
import type { SceneAtlas } from '../data/scenes.ts';
import type { ClipTokenizer } from '../data/tokenizer.ts';
import { crossAttention } from './analysis/crossAttention.ts';
import { DISPLAY_SIZE, heldOutPair, pickModel } from './analysis/inputs.ts';
import { relevance } from './analysis/relevance.ts';
import { retrieval } from './analysis/retrieval.ts';
import { selfAttention } from './analysis/selfAttention.ts';
import { trainingViews } from './analysis/views.ts';
import { segment, zeroShot } from './analysis/zeroShot.ts';
import type { AnalysisRequest, AnalysisResult } from './protocol.ts';

export interface AnalysisContext {
  run: TrainingRun | null;
  atlas: SceneAtlas;
  tokenizer: ClipTokenizer;
  student: ClipModel;
  teacher: ClipModel | null;
  /** Why the cross-attention maps are not shown (a plain CLIP model's poolers, added for fine-tuning, untrained). */
  noCrossAttention?: string | null;
}

/** The run's data, or the built-in scenes before any run. */
const dataOf = (ctx: AnalysisContext): TrainingData => ctx.run?.data ?? sceneData(ctx.atlas, 0);

/** Every analysis of the run's model; the CLIP vs COSMOS comparison runs on the demo models instead (demo.ts). */
export async function handleAnalysis(request: Exclude<AnalysisRequest, { kind: 'compare' }>, ctx: AnalysisContext): Promise<AnalysisResult> {
  const { tokenizer } = ctx;
  const scenes = { atlas: ctx.atlas, kinds: ctx.run?.options.scenes ?? 'all' };
  switch (request.kind) {
    case 'attention': {
      const model = pickModel(ctx, request.weights);
      if (ctx.noCrossAttention) return { kind: 'attention', unavailable: ctx.noCrossAttention };
      if (!isCosmosModel(model)) return { kind: 'attention', unavailable: `This model has no cross-attention maps: ${NO_CROSS_ATTENTION}.` };
      return crossAttention(model, scenes, tokenizer, request.image, request.caption);
    }
    case 'selfAttention':
      return selfAttention(pickModel(ctx, request.weights), scenes, request.image);
    case 'relevance':
      return relevance(pickModel(ctx, request.weights), scenes, tokenizer, request.image, request.caption);
    case 'heldOutPair':
      return heldOutPair(dataOf(ctx), request.index, Math.max(DISPLAY_SIZE, ctx.student.config.vision.imageSize));
    case 'views':
      return trainingViews(ctx.student.config, dataOf(ctx), ctx.run, request);
    case 'retrieval':
      return retrieval(pickModel(ctx, request.weights), dataOf(ctx), tokenizer, request.count);
    case 'zeroShot':
      return zeroShot(pickModel(ctx, request.weights), scenes, tokenizer, request.image, request.classes);
    case 'segment':
      // SCLIP-style segmentation is evaluated on the teacher (COSMOS-SPEC section 7) when there is one.
      return segment(ctx.teacher ?? ctx.student, scenes, tokenizer, request.image, request.classes, request.csa);
  }
}
