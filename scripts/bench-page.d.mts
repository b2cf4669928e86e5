export interface BenchPageOptions {
  /** The page under bench/browser/, with its query: "step.html?reps=1". */
  page: string;
  /** The global the page sets to its result when done. */
  resultName: string;
  timeoutMs: number;
  log?: (line: string) => void;
}

export declare function runBenchPage(options: BenchPageOptions): Promise<unknown>;
