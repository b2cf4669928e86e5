/**
 * The worker's data set: the built-in scenes, or the images the user dropped. The user's files stay as the page
 * handed them over (Files, read from disk on demand); they are decoded once at the working size a run needs, and
 * again only when a later run needs larger sources or another shuffle seed.
 */
import type { TrainingOptions } from '../cosmos/trainingOptions.ts';
import { BUILT_IN_SCENES, type TrainingData, sceneData } from '../data/dataset.ts';
import type { SceneAtlas } from '../data/scenes.ts';
import { type PathedBlob, userDataFromFiles } from '../data/userData-browser.ts';
import type { ImageDecoder, UserData } from '../data/userData.ts';
import { HELD_OUT_COUNT } from '../data/dataset.ts';
import type { DataSetInfo } from './protocol.ts';

interface UserDataSet {
  files: PathedBlob[];
  decoded: UserData;
  workingSize: number;
  seed: number;
}

export class DataSets {
  /** null: the built-in scenes. */
  private user: UserDataSet | null = null;

  /** `decode` defaults to the browser's decoders (Node tests pass image-node.ts's). */
  constructor(
    private readonly atlas: SceneAtlas,
    private readonly decode?: ImageDecoder,
  ) {}

  get info(): DataSetInfo {
    if (!this.user) return { name: BUILT_IN_SCENES, summary: null, heldOutCaptions: [] };
    const { data, summary } = this.user.decoded;
    const heldOutCaptions = data.heldOut(Math.min(summary.heldOut, HELD_OUT_COUNT), this.user.workingSize).map((pair) => pair.caption);
    return { name: data.name, summary, heldOutCaptions };
  }

  /**
   * Makes `files` the data set, decoded for `options`. When they are unusable (fewer than two image-caption
   * pairs) this throws a sentence that says why, and the previous data set stays.
   */
  async selectFiles(files: PathedBlob[], options: TrainingOptions, onProgress?: (done: number, total: number) => void): Promise<DataSetInfo> {
    this.user = await this.decoded(files, options, onProgress);
    return this.info;
  }

  /** The user's files as the page handed them over; null for the built-in scenes. */
  get files(): PathedBlob[] | null {
    return this.user?.files ?? null;
  }

  selectBuiltIn(): DataSetInfo {
    this.user = null;
    return this.info;
  }

  /** The current data set for a run of `options`: its sources at least `options.sourceSize` on a side. */
  async forRun(options: TrainingOptions): Promise<TrainingData> {
    if (!this.user) return sceneData(this.atlas, options.seed, options.scenes);
    if (this.user.workingSize < options.sourceSize || this.user.seed !== options.seed) this.user = await this.decoded(this.user.files, options);
    return this.user.decoded.data;
  }

  private async decoded(files: PathedBlob[], options: TrainingOptions, onProgress?: (done: number, total: number) => void): Promise<UserDataSet> {
    const { sourceSize: workingSize, seed } = options;
    const decoded = await userDataFromFiles(files, {
      workingSize,
      seed,
      ...(onProgress ? { onProgress } : {}),
      ...(this.decode ? { decode: this.decode } : {}),
    });
    return { files, decoded, workingSize, seed };
  }
}
