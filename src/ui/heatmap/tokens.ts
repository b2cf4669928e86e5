/**
 * The token-wise map's tokens as the page shows them. The pooler attends over all context positions: SOT, the
 * caption's BPE tokens, EOT and the zero padding; the specials can be shown (dimmed) or left out, and the map is
 * min-max normalized over the tokens shown.
 */
import { EOT_TOKEN as EOT, SOT_TOKEN as SOT } from '../../data/tokenizer.ts';
import { PAD_TOKEN as PAD } from '../../worker/analysis/inputs.ts';
import { minMaxNormalize } from './normalize.ts';

export interface ShownToken {
  /** Position in the context. */
  index: number;
  text: string;
  /** SOT, EOT or padding. */
  special: boolean;
  /** Continues the word of the token before it (no space between them). */
  joined: boolean;
  /** Normalized over the tokens shown. */
  value: number;
  raw: number;
}

const SPECIAL_LABEL: Record<string, string> = { [SOT]: 'SOT', [EOT]: 'EOT', [PAD]: 'pad' };

export function shownTokens(tokens: readonly string[], weights: Float32Array, showSpecial: boolean): ShownToken[] {
  if (tokens.length !== weights.length) throw new Error(`${tokens.length} tokens but ${weights.length} weights`);
  const eot = tokens.indexOf(EOT, 1);
  const isSpecial = (i: number) => i === 0 || (eot >= 0 && i >= eot);
  const kept = tokens.map((_, i) => i).filter((i) => showSpecial || !isSpecial(i));
  if (kept.length === 0) return [];
  const normalized = minMaxNormalize(kept.map((i) => weights[i]!)).values;
  return kept.map((index, k) => {
    const special = isSpecial(index);
    const previous = tokens[index - 1];
    return {
      index,
      text: special ? (SPECIAL_LABEL[tokens[index]!] ?? tokens[index]!) : tokens[index]!.trimEnd(),
      special,
      joined: !special && index > 1 && previous !== undefined && !previous.endsWith(' '),
      value: normalized[k]!,
      raw: weights[index]!,
    };
  });
}
