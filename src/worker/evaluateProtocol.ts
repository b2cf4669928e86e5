/**
 * The Evaluate tab's messages to and from the engine worker (kept apart from protocol.ts, which joins them into its
 * Command and WorkerEvent unions): evaluate a data set with several models side by side, stop it, load a second
 * model to compare with, and write the training data set as webdataset shards.
 */
import type { ModelSource } from '../cosmos/modelSource.ts';
import type { PathedBlob } from '../data/userData-browser.ts';
import type { EvalTask } from '../eval/benchmark/detect.ts';
import type { EvalReport } from '../eval/benchmark/run.ts';

/** The models a row of the results table can be. */
export type EvalModelChoice = 'student' | 'teacher' | 'second' | 'wiseft';

export interface EvaluateRequest {
  /** A chosen folder's files, one zip, or .tar shards (with a classnames.json for cls labels). */
  files: PathedBlob[];
  task: EvalTask;
  models: EvalModelChoice[];
  /** WiSE-FT's weight of the fine-tuned model (0: the loaded one, 1: the fine-tuned one). */
  alpha: number;
  segmentation: { csa: 'both' | 'on' | 'off'; logitScale: number; threshold: number };
  /** Only the first this many images. */
  limit?: number;
}

export interface EvaluationResult {
  task: EvalTask;
  /** The data set in a few words, and its layout (coco, flickr, imagenet, folders, segmentation, webdataset). */
  dataset: string;
  layout: string;
  /** The chosen files' name (folder, zip, first shard). */
  source: string;
  /** Each result's label says which model it was: "This run (student), step 120", a file name, "WiSE-FT 0.50". */
  report: EvalReport;
}

export interface WrittenShards {
  shards: { name: string; blob: Blob; samples: number }[];
  /** sizes.json's text. */
  sizes: string;
  /** The reference's --train-data pattern for them. */
  pattern: string;
}

export type EvaluateCommand =
  | { type: 'evaluate'; requestId: number; request: EvaluateRequest }
  /** Stops the evaluation under way after its current batch; it answers with an error saying so. */
  | { type: 'cancelEvaluation' }
  /** A second model to evaluate beside the run's (a file, or a folder's files), its student weights. */
  | { type: 'loadSecondModel'; requestId: number; files: File[] }
  /** The run's data set (the user's images) as webdataset shards of `perShard` samples. */
  | { type: 'writeShards'; requestId: number; perShard: number };

export type EvaluateEvent =
  | { type: 'evaluated'; requestId: number; result: EvaluationResult }
  | { type: 'secondModel'; requestId: number; source: ModelSource }
  | { type: 'shards'; requestId: number; written: WrittenShards };
