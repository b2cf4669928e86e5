import { useMemo } from 'react';
import { cssColour, heatColour, inkOn } from './colormap.ts';
import { shownTokens } from './tokens.ts';

interface TokenStripProps {
  tokens: readonly string[];
  weights: Float32Array;
  showSpecial: boolean;
  testId?: string;
}

/** The caption's tokens, each coloured by its weight in the token-wise map (min-max over the tokens shown). */
export function TokenStrip({ tokens, weights, showSpecial, testId }: TokenStripProps) {
  const shown = useMemo(() => shownTokens(tokens, weights, showSpecial), [tokens, weights, showSpecial]);
  const values = shown.map((t) => t.value);
  return (
    <p
      className="token-strip"
      data-testid={testId}
      data-count={shown.length}
      data-min={values.length ? Math.min(...values) : ''}
      data-max={values.length ? Math.max(...values) : ''}
    >
      {shown.map((token) => {
        const colour = heatColour(token.value);
        return (
          <span
            key={token.index}
            className={['token', token.special ? 'token-special' : '', token.joined ? 'token-joined' : ''].join(' ').trim()}
            style={{ background: cssColour(colour), color: inkOn(colour) }}
            title={`position ${token.index}: weight ${token.raw.toPrecision(3)}, ${token.value.toFixed(2)} normalized`}
            data-value={token.value.toFixed(4)}
          >
            {token.text}
          </span>
        );
      })}
    </p>
  );
}
