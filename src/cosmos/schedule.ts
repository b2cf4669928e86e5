/** The learning-rate schedule of the reference recipe: linear warmup, then cosine decay to 0. */
export function learningRate(step: number, baseLr: number, warmupSteps: number, totalSteps: number): number {
  if (step < warmupSteps) return (baseLr * (step + 1)) / warmupSteps;
  const progress = (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps);
  return 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))) * baseLr;
}
