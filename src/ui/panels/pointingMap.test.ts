import { describe, expect, it } from 'vitest';
import type { DemoModelCard } from '../../worker/protocol.ts';
import { bestPointingMap, pointingMapName } from './pointingMap.ts';

/** An evaluate card with these pointing scores (recall and the rest as a run would report them). */
function card(cross: number | null, relevance: number | null, block0: number | null): DemoModelCard['evaluate'] {
  const chance = 0.083;
  return {
    i2t_r1: 0.52,
    i2t_r5: 0.93,
    t2i_r1: 0.52,
    t2i_r5: 0.89,
    pointing_cross_attention: cross,
    pointing_dense: 0.16,
    pointing_relevance: relevance,
    pointing_relevance_block0: block0,
    miou: 0.05,
    chance: { pointing_cross_attention: cross === null ? null : chance, pointing_relevance: chance, pointing_relevance_block0: chance },
  };
}

describe('bestPointingMap', () => {
  it('picks relevance from block 1 when it points best (the demo model: pooler 7.0%, last block 63.4%, block 0 73.9%)', () => {
    const best = bestPointingMap(card(0.0697, 0.6335, 0.7394));
    expect(best).toEqual({ kind: 'relevance', start: 1, value: 0.7394, chance: 0.083 });
    expect(pointingMapName(best!)).toBe('relevance from block 1');
  });

  it('picks relevance from the last block (start null, the page default) when that is best', () => {
    expect(bestPointingMap(card(0.2, 0.6, 0.5))).toEqual({ kind: 'relevance', start: null, value: 0.6, chance: 0.083 });
  });

  it('keeps the pooler when it points best, and on a tie (the map COSMOS adds comes first)', () => {
    expect(bestPointingMap(card(0.75, 0.6, 0.7))?.kind).toBe('crossAttention');
    expect(bestPointingMap(card(0.7, 0.7, 0.7))?.kind).toBe('crossAttention');
  });

  it('skips the maps a model has no number for: a plain CLIP model has no pooler', () => {
    expect(bestPointingMap(card(null, 0.6, 0.73))).toMatchObject({ kind: 'relevance', start: 1 });
    expect(bestPointingMap(card(null, null, null))).toBeNull();
  });
});
