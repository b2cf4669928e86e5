import { describe, expect, it } from 'vitest';
import { braceExpand, namesShards, shardPaths } from './shardList.ts';

describe('shard lists as braceexpand and webdataset read them', () => {
  it('zero-padded numeric ranges, steps, descending ranges, letters', () => {
    expect(braceExpand('shards-{0000..0003}.tar')).toEqual(['shards-0000.tar', 'shards-0001.tar', 'shards-0002.tar', 'shards-0003.tar']);
    expect(braceExpand('{1..10..3}')).toEqual(['1', '4', '7', '10']);
    expect(braceExpand('{3..1}')).toEqual(['3', '2', '1']);
    expect(braceExpand('{08..11}')).toEqual(['08', '09', '10', '11']);
    expect(braceExpand('x{a..c}')).toEqual(['xa', 'xb', 'xc']);
  });

  it('alternatives, several groups, nesting; a lone word in braces stays literal', () => {
    expect(braceExpand('{a,b}-{1..2}.tar')).toEqual(['a-1.tar', 'a-2.tar', 'b-1.tar', 'b-2.tar']);
    expect(braceExpand('{cc3m/{0..1},cc12m/0}.tar')).toEqual(['cc3m/0.tar', 'cc3m/1.tar', 'cc12m/0.tar']);
    expect(braceExpand('{x}.tar')).toEqual(['{x}.tar']);
    expect(() => braceExpand('a{0..2.tar')).toThrow('a "{" is never closed');
  });

  it('--data takes comma-separated paths and patterns; only .tar paths are shards', () => {
    expect(shardPaths('a.tar,b.tar')).toEqual(['a.tar', 'b.tar']);
    expect(shardPaths('d/s-{00..01}.tar, e.tar')).toEqual(['d/s-00.tar', 'd/s-01.tar', 'e.tar']);
    expect(namesShards('photos/')).toBe(false);
    expect(namesShards('photos.zip')).toBe(false);
    expect(namesShards('s-{0..3}.tar')).toBe(true);
    expect(namesShards('a.tar,notes.txt')).toBe(false);
  });
});
