/**
 * The typed messages between the app (main thread) and the engine worker. The UI only sends commands and
 * renders what comes back; the worker owns the GPU device, the models, the training run and the data.
 */
import type { AdapterSummary } from '../gpu/acquire.ts';
import type { KernelChoice } from '../gpu/kernelChoice.ts';
import type { MemoryStats } from '../gpu/runtime.ts';
import type { SelfTestResult } from '../tensor/selftest.ts';
import type { CosmosConfig } from '../cosmos/config.ts';
import type { ModelSource } from '../cosmos/modelSource.ts';
import type { PresetName } from '../cosmos/presets.ts';
import type { StepRecord } from '../cosmos/training.ts';
import type { HeldOutRecord } from '../eval/heldOut.ts';
import type { TrainMode } from '../cosmos/objective.ts';
import type { TrainingOptions } from '../cosmos/trainingOptions.ts';
import type { SceneKinds } from '../data/scenes.ts';
import type { ViewRecipeName } from '../cosmos/views/augment.ts';
import type { RgbImage } from '../data/image.ts';
import type { PathedBlob } from '../data/userData-browser.ts';
import type { UserDataSummary } from '../data/userData.ts';
import type { RunLog } from './runLog.ts';
import type { EvalProgress } from '../eval/benchmark/progress.ts';
import type { EvaluateCommand, EvaluateEvent } from './evaluateProtocol.ts';

export type RunState = 'empty' | 'ready' | 'running' | 'paused' | 'stopped';
/** The checkpoint store's name for the run the worker saves as it trains (offered for resuming after a reload). */
export const AUTOSAVE_CHECKPOINT = 'autosave.pt';
export type Weights = 'student' | 'teacher';

/** Where an analysis gets its image from: a held-out scene of the built-in data, or the user's own picture. */
export type ImageInput = { kind: 'scene'; index: number } | { kind: 'image'; image: RgbImage };

/** The data set a run trains on: the built-in scenes (`summary` null) or the user's images. */
export interface DataSetInfo {
  name: string;
  summary: UserDataSummary | null;
  /** The user's held-out pairs' captions, in order, at most 256 (the analysis panels offer these); [] for the scenes. */
  heldOutCaptions: string[];
}

export type Command =
  /**
   * Builds a fresh model of `preset`; with `preset` null, the last loaded checkpoint again (fine-tuning it with
   * new options); with `resume`, restores the run saved in browser storage.
   */
  | { type: 'init'; preset: PresetName | null; options: TrainingOptions; evalEvery: number; resume?: boolean }
  | { type: 'start' }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /**
   * Loads a model as the run's (fine-tuning starts from it): one checkpoint file (.pt, .bin, .safetensors, an
   * OpenAI TorchScript archive), or a folder's files (OpenCLIP's hub layout, a Hugging Face CLIPModel folder).
   */
  | { type: 'loadCheckpoint'; requestId: number; files: File[]; weights: Weights }
  /**
   * Trains on the user's images (a folder's files or one zip) from now on, or on the built-in scenes (`files`
   * null); answered with a `data` event, or an error that says why the files are unusable.
   */
  | { type: 'setData'; requestId: number; files: PathedBlob[] | null }
  | { type: 'saveCheckpoint'; requestId: number }
  | { type: 'listCheckpoints'; requestId: number }
  /** A checkpoint saved in the browser, as a file to download or load: answered with a `download` event. */
  | { type: 'openSaved'; requestId: number; name: string }
  | { type: 'deleteSaved'; requestId: number; name: string }
  /** Streams the run as a released-layout .pt; answered with a Blob to download. */
  | { type: 'exportCheckpoint'; requestId: number }
  /** Runs the GPU self-test on the worker's device; answered with a `selfTest` event. */
  | { type: 'selfTest'; requestId: number }
  /** Loads a trained demo model (public/models) as the model, on the scenes it was trained on; answered with `done`. */
  | { type: 'loadDemo'; requestId: number; which: DemoName }
  /** The demo models' manifest; answered with a `demos` event. */
  | { type: 'demos'; requestId: number }
  | { type: 'analysis'; requestId: number; request: AnalysisRequest }
  /** The Evaluate tab's requests (evaluateProtocol.ts). */
  | EvaluateCommand;

export type AnalysisRequest =
  /** Cross-attention maps of one image and one caption (and of each of the caption's sentences). */
  | { kind: 'attention'; image: ImageInput; caption: string; weights: Weights }
  /** The vision tower's self-attention: CLS to patches per layer and head, and attention rollout. */
  | { kind: 'selfAttention'; image: ImageInput; weights: Weights }
  /** Gradient x attention relevance (Chefer et al.) of one image with a caption and with each of its sentences. */
  | { kind: 'relevance'; image: ImageInput; caption: string; weights: Weights }
  /** Held-out pair `index` of the run's data set, to explain: its picture (square, for display) and caption. */
  | { kind: 'heldOutPair'; index: number }
  /** The views of one sample of one training step (exactly what it trained on, for the last step trained). */
  | ViewsRequest
  /** Similarity matrix of held-out scenes and their captions. */
  | { kind: 'retrieval'; count: number; weights: Weights }
  /** `classes`: the class names as typed, comma-separated (parseClassNames reads them). */
  | { kind: 'zeroShot'; image: ImageInput; classes: string; weights: Weights }
  | { kind: 'segment'; image: ImageInput; classes: string; csa: boolean }
  /** The COSMOS and the CLIP demo models side by side on one image and caption. */
  | { kind: 'compare'; image: ImageInput; caption: string };

export interface AttentionResult {
  kind: 'attention';
  image: RgbImage;
  grid: [number, number];
  tokens: string[];
  /** Patch weights per head [head][patch] and their mean, for the whole caption. */
  patchHeads: Float32Array[];
  patchMean: Float32Array;
  /** Token weights per head [head][token] and their mean (token 0 is SOT). */
  tokenHeads: Float32Array[];
  tokenMean: Float32Array;
  /** Per sentence of the caption: its own patch map (mean over heads). */
  sentences: { text: string; patchMean: Float32Array }[];
}

export interface SelfAttentionResult {
  kind: 'selfAttention';
  image: RgbImage;
  grid: [number, number];
  /** [layer][head][patch]: CLS row of each layer's attention over the patches. */
  clsToPatches: Float32Array[][];
  /** Attention rollout (Abnar & Zuidema): CLS to patches through all layers, residual included. */
  rollout: Float32Array;
}

/**
 * Chefer, Gur & Wolf's relevance of one image and one text for their score, for every start block: the recipe's
 * R = I, then R = R + mean over heads of max(G_l * A_l, 0) R from the start block on (src/eval/relevance.ts).
 */
export interface RelevanceText {
  text: string;
  /** Display strings of the 77 positions (tokenStrings). */
  tokens: string[];
  /** [start block][patch]: R_vision's CLS row over the patches, start blocks 0 to the vision tower's last. */
  patches: Float32Array[];
  /** [start block][position]: R_text's EOT row over the 77 positions, start blocks 0 to the text tower's last. */
  positions: Float32Array[];
  /** The score explained: exp(logit_scale) * cos(image, text). */
  logit: number;
}

export interface RelevanceResult {
  kind: 'relevance';
  image: RgbImage;
  grid: [number, number];
  /** The whole caption, then each of its sentences (when it has more than one). */
  texts: RelevanceText[];
}

export interface HeldOutPairResult {
  kind: 'heldOutPair';
  image: RgbImage;
  caption: string;
}

export interface ViewsRequest {
  kind: 'views';
  /** The training step, 1-based. */
  step: number;
  /** The sample of the step's batch. */
  sample: number;
  /** 0: the step's own views where they are kept; more: another fresh draw. */
  draw: number;
}

export interface ViewsResult {
  kind: 'views';
  step: number;
  sample: number;
  /** The training example (index into the run's data) the sample is. */
  example: number;
  /** True: exactly the views the step trained on; false: a fresh draw by the same code. */
  trained: boolean;
  /** The global then local image views, de-normalized to RGB for display. */
  images: RgbImage[];
  /** The 2 global then local text crops. */
  texts: string[];
  caption: string;
}

export interface RetrievalResult {
  kind: 'retrieval';
  count: number;
  /** Row-major [image][caption] cosine similarities. */
  similarity: Float32Array;
  captions: string[];
  recall: { i2t: number[]; t2i: number[]; ks: number[] };
}

export interface ZeroShotResult {
  kind: 'zeroShot';
  ranked: { label: string; probability: number }[];
}

export interface SegmentResult {
  kind: 'segment';
  image: RgbImage;
  /** Per pixel: index into classes, or -1 for background. */
  labels: Int16Array;
  classes: string[];
}

export type DemoName = 'cosmos' | 'clip';

/** One trained demo model as public/models/demo.json describes it (scripts/make-demo-models.ts writes it). */
export interface DemoModelCard {
  /** Files beside demo.json: the weights (.safetensors) and their OpenCLIP config. */
  weights: string;
  config: string;
  mode: TrainMode;
  /** How it was trained: the command, its wall clock and steps. */
  command: string;
  seconds: number;
  steps: number;
  /** `cosmos evaluate --json` on the held-out scenes it was not trained on. */
  evaluate: Record<
    'i2t_r1' | 'i2t_r5' | 't2i_r1' | 't2i_r5' | 'pointing_cross_attention' | 'pointing_dense' | 'pointing_relevance' | 'pointing_relevance_block0' | 'miou',
    number | null
  > & {
    chance: Record<string, number | null>;
  };
}

export interface DemoManifest {
  /** The scenes both were trained and evaluated on, and the image views they trained with. */
  scenes: SceneKinds;
  views: ViewRecipeName;
  /** A held-out scene whose maps point at its objects: where "Explore a trained model" opens. */
  showcase: number;
  models: Record<DemoName, DemoModelCard>;
}

/** One demo model's view of the image and caption: its maps and how well image and caption match. */
export interface ComparedModel {
  name: DemoName;
  /** visual.attn_cross_pool's weights of the caption over the patches (mean over heads); null without poolers. */
  crossAttention: Float32Array | null;
  /** Cosines of the caption's embedding with the dense patch features. */
  dense: Float32Array;
  /** Per sentence of the caption: the same two maps. */
  sentences: { text: string; crossAttention: Float32Array | null; dense: Float32Array }[];
  /** exp(logit_scale) * cosine of image and caption. */
  logit: number;
}

export interface CompareResult {
  kind: 'compare';
  image: RgbImage;
  grid: [number, number];
  models: ComparedModel[];
}

/** A model without cross-attention poolers (a plain CLIP model, not yet fine-tuned): no maps, and why. */
export interface NoCrossAttentionResult {
  kind: 'attention';
  unavailable: string;
}

export type AnalysisResult =
  | AttentionResult
  | NoCrossAttentionResult
  | SelfAttentionResult
  | RelevanceResult
  | HeldOutPairResult
  | ViewsResult
  | RetrievalResult
  | ZeroShotResult
  | SegmentResult
  | CompareResult;

/** What a loaded checkpoint was, in words, and whether COSMOS's parts were added to it (a plain CLIP model). */
export interface LoadedModelSource extends ModelSource {
  /** A COSMOS checkpoint's student or teacher, or the file's only weights. */
  weights: Weights | 'state_dict';
  addedCosmosParts: boolean;
}

export interface SavedCheckpoint {
  name: string;
  size: number;
  modified: number;
}

/** The facts of the engine's device the page shows (the page holds no GPU object); types re-exported for it. */
export type { AdapterSummary, KernelChoice, MemoryStats, SelfTestResult };

export type WorkerEvent =
  /** The worker acquired its device, or could not: the page's badge, adapter panel and notices show this. */
  /** `kernels`: the kernel shape the engine runs on this adapter, measured or assumed (src/gpu/kernelChoice.ts). */
  | { type: 'device'; status: 'ready'; adapter: AdapterSummary; kernels: KernelChoice }
  | { type: 'device'; status: 'unavailable' | 'failed'; message: string }
  /** The device was lost after it was acquired (training paused; the last save stays). */
  | { type: 'deviceLost'; message: string }
  | { type: 'selfTest'; requestId: number; result: SelfTestResult }
  | { type: 'demos'; requestId: number; manifest: DemoManifest }
  /** A run is built, restored or loaded: its settings (`preset` null for a loaded checkpoint) and where it stands. */
  | {
      type: 'ready';
      config: CosmosConfig;
      parameters: number;
      /** Of those, the ones the optimizer updates (fewer with frozen towers). */
      trainable: number;
      state: RunState;
      step: number;
      preset: PresetName | null;
      /** A loaded checkpoint: what it was; null for a preset or a restored run. */
      source: LoadedModelSource | null;
      options: TrainingOptions;
      data: DataSetInfo;
      /** The charts so far: empty for a new run, the saved history for a restored one. */
      log: RunLog;
      /** A restored run: the data set it trained on before (it goes on with `data`); null for a new run. */
      trainedOn: string | null;
    }
  | { type: 'state'; state: RunState }
  | { type: 'step'; record: StepRecord; memory: MemoryStats }
  | { type: 'eval'; step: number; record: HeldOutRecord }
  /** The run was written to browser storage (AUTOSAVE_CHECKPOINT) at this step: a reload can resume from it. */
  | { type: 'saved'; step: number }
  | { type: 'progress'; requestId: number; what: string; done: number; total: number; detail?: EvalProgress }
  | { type: 'analysis'; requestId: number; result: AnalysisResult }
  | { type: 'checkpoints'; requestId: number; saved: SavedCheckpoint[] }
  | { type: 'data'; requestId: number; data: DataSetInfo }
  | { type: 'download'; requestId: number; blob: Blob; name: string }
  | { type: 'done'; requestId: number }
  | EvaluateEvent
  /** A sentence for the user; `requestId` when it answers a request. */
  | { type: 'error'; message: string; requestId?: number };
