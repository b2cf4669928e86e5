/**
 * Which of the Attention panel's sentence maps points best on a demo model, by its `cosmos evaluate` numbers: the
 * pooler's cross-attention, or gradient x attention relevance from the vision tower's last block or from block 0.
 * "Explore a trained model" opens Attention on that map, so the first map a new user sees is one that points.
 */
import type { DemoModelCard } from '../../worker/protocol.ts';

export type PointingMap =
  | { kind: 'crossAttention'; value: number; chance: number | null }
  /** start: the relevance's start block as the page counts them (1-based); null for the last, the page's default. */
  | { kind: 'relevance'; start: number | null; value: number; chance: number | null };

/** The evaluate key of each map the page shows, and its start block (1-based; null: the last). */
const CANDIDATES = [
  { key: 'pointing_cross_attention', map: { kind: 'crossAttention' } },
  { key: 'pointing_relevance', map: { kind: 'relevance', start: null } },
  { key: 'pointing_relevance_block0', map: { kind: 'relevance', start: 1 } },
] as const;

/**
 * The map with the highest pointing score, the pooler's first among equals (the map COSMOS adds); null when the card
 * scores none of them (a plain CLIP model without relevance numbers).
 */
export function bestPointingMap(evaluate: DemoModelCard['evaluate']): PointingMap | null {
  let best: PointingMap | null = null;
  for (const { key, map } of CANDIDATES) {
    const value = evaluate[key];
    if (value === null || value === undefined || (best && value <= best.value)) continue;
    best = { ...map, value, chance: evaluate.chance[key] ?? null };
  }
  return best;
}

/** The map as the page names it: "relevance from block 1", "the pooler's cross-attention". */
export function pointingMapName(map: PointingMap): string {
  if (map.kind === 'crossAttention') return 'the pooler’s cross-attention';
  return map.start === null ? 'relevance from the last block' : `relevance from block ${map.start}`;
}
