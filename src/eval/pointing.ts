/**
 * The pointing game's geometry, pure (the page and the e2e tests use it too): where a map over the patch grid peaks,
 * and whether that patch's centre lies inside an object's box.
 */

/** Where a map peaks: the index of its highest value, the first of equal highs (as argmax in numpy and PyTorch). */
export function peakIndex(map: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < map.length; i++) if (map[i]! > map[best]!) best = i;
  return best;
}

/** The patch a [rows * cols] map peaks at (the first of equal highs) and whether its centre lies inside `box`. */
export function pointsInside(map: ArrayLike<number>, [rows, cols]: [number, number], imageSize: number, box: readonly number[]): boolean {
  return patchCentreInside(peakIndex(map), [rows, cols], imageSize, box);
}

/** Whether the centre of row-major `patch` of a [rows, cols] grid over an image of `imageSize` px lies in `box` (x1, y1 exclusive). */
export function patchCentreInside(patch: number, [rows, cols]: [number, number], imageSize: number, [x0, y0, x1, y1]: readonly number[]): boolean {
  const x = ((patch % cols) + 0.5) * (imageSize / cols);
  const y = (Math.floor(patch / cols) + 0.5) * (imageSize / rows);
  return x >= x0! && x < x1! && y >= y0! && y < y1!;
}

/** The pointing game's chance: the fraction of the grid's patches whose centre lies in `box`. */
export function pointingChance([rows, cols]: [number, number], imageSize: number, box: readonly number[]): number {
  let inside = 0;
  for (let p = 0; p < rows * cols; p++) if (patchCentreInside(p, [rows, cols], imageSize, box)) inside++;
  return inside / (rows * cols);
}
