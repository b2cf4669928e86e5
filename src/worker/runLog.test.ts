import { describe, expect, it } from 'vitest';
import { appendThinned } from './runLog.ts';

describe('appendThinned', () => {
  it('appends until the list is full, then halves it evenly before appending', () => {
    let points: number[] = [];
    for (let step = 1; step <= 8; step++) points = appendThinned(points, step, 8);
    expect(points).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    points = appendThinned(points, 9, 8);
    // Every other point counted back from the newest, which stays.
    expect(points).toEqual([2, 4, 6, 8, 9]);
    for (let step = 10; step <= 12; step++) points = appendThinned(points, step, 8);
    expect(points).toEqual([2, 4, 6, 8, 9, 10, 11, 12]);
    expect(appendThinned(points, 13, 8)).toEqual([4, 8, 10, 12, 13]);
  });
});
