import { useState } from 'react';
import { errorMessage } from '../../format.ts';
import type { RelevanceResult, RelevanceText } from '../../worker/protocol.ts';
import { ColourLegend } from '../heatmap/ColourLegend.tsx';
import { HeatmapCanvas } from '../heatmap/HeatmapCanvas.tsx';
import { TokenStrip } from '../heatmap/TokenStrip.tsx';
import { downloadBlob } from '../heatmap/draw.ts';
import { figurePng } from '../heatmap/figure.ts';
import { shownTokens } from '../heatmap/tokens.ts';

export const RELEVANCE_NOTE =
  'Gradient × attention relevance (Chefer, Gur & Wolf, ICCV 2021), min-max normalized per map to [0, 1]: 0 is the least relevant patch or token of that map, 1 the most.';

/** The relevance shown: the whole caption's, or one sentence's. */
export const relevanceText = (result: RelevanceResult, sentence: number | null): RelevanceText =>
  result.texts[sentence === null ? 0 : sentence + 1] ?? result.texts[0]!;

/** Blocks per tower: the maps are given for every start block of each. */
export const towerBlocks = (text: RelevanceText) => ({ vision: text.patches.length, text: text.positions.length });

/** A start block (1-based, as the page counts blocks; null: the last, the recipe's default) of a tower of `blocks`. */
export const startIndex = (start: number | null, blocks: number): number => Math.min(start ?? blocks, blocks) - 1;

interface RelevanceBlockProps {
  result: RelevanceResult | null;
  busy: boolean;
  sentence: number | null;
  /** 1-based start block; null for the last. */
  start: number | null;
  onStart(start: number | null): void;
  opacity: number;
  showSpecial: boolean;
  /** The figure's title names it: "student" or "teacher". */
  weights: string;
  /** The exported file's name. */
  fileName: string;
}

/**
 * Which patches and which words make this image and this caption (or sentence) match: Chefer et al.'s relevance of
 * both towers for the score exp(logit_scale) * cos(image, text), from a start block chosen on a slider.
 */
export function RelevanceBlock({ result, busy, sentence, start, onStart, opacity, showSpecial, weights, fileName }: RelevanceBlockProps) {
  const [exportError, setExportError] = useState<string | null>(null);
  if (!result) {
    return (
      <section className="figure-block figure-block-full" data-testid="relevance-block">
        <h3>Relevance (gradient × attention)</h3>
        <p className="muted">{busy ? 'Computing the gradients of the match…' : ''}</p>
      </section>
    );
  }
  const shown = relevanceText(result, sentence);
  const blocks = towerBlocks(shown);
  const most = Math.max(blocks.vision, blocks.text);
  const visionStart = startIndex(start, blocks.vision);
  const textStart = startIndex(start, blocks.text);
  const what = sentence === null ? 'caption' : `sentence "${shown.text}"`;
  const imageLabel = `Relevance of the image patches for the ${what}, from block ${visionStart + 1}`;

  const exportFigure = async () => {
    try {
      const blob = await figurePng({
        title: `Relevance (gradient × attention), ${weights}, score ${shown.logit.toFixed(2)}: "${shown.text}"`,
        maps: [{ label: imageLabel, image: result.image, values: shown.patches[visionStart]!, grid: result.grid }],
        tokens: {
          title: `Relevance of the tokens of the ${what}, from block ${textStart + 1}`,
          tokens: shownTokens(shown.tokens, shown.positions[textStart]!, showSpecial),
        },
        legend: RELEVANCE_NOTE,
        opacity,
      });
      downloadBlob(blob, fileName);
      setExportError(null);
    } catch (failure) {
      setExportError(errorMessage(failure));
    }
  };
  return (
    <section className="figure-block figure-block-full" data-testid="relevance-block" data-busy={busy}>
      <div className="figure-block-header">
        <h3>Relevance (gradient × attention)</h3>
        <label className="field field-range">
          <span>
            Start block {visionStart + 1} of {blocks.vision} (image)
            {blocks.text !== blocks.vision || textStart !== visionStart ? `, ${textStart + 1} of ${blocks.text} (text)` : ''}
          </span>
          <input
            type="range"
            min={1}
            max={most}
            step={1}
            value={start ?? most}
            data-testid="relevance-start"
            aria-label="Start block of the relevance"
            onChange={(event) => {
              const value = Number(event.target.value);
              onStart(value === most ? null : value);
            }}
          />
        </label>
        <button type="button" data-testid="relevance-export" onClick={() => void exportFigure()}>
          Export PNG
        </button>
      </div>
      {exportError && (
        <p className="error-text" role="alert">
          {exportError}
        </p>
      )}
      <div className="attention-figure">
        <div className="figure-block">
          <HeatmapCanvas
            values={shown.patches[visionStart]!}
            grid={result.grid}
            image={result.image}
            size={300}
            opacity={opacity}
            testId="relevance-map"
            label={imageLabel}
          />
          <p className="muted small">
            The patches that raise the score of image and {what} ({shown.logit.toFixed(2)}): the CLS row of R, from block {visionStart + 1}.
          </p>
        </div>
        <div className="figure-block figure-block-grow">
          <TokenStrip tokens={shown.tokens} weights={shown.positions[textStart]!} showSpecial={showSpecial} testId="relevance-tokens" />
          <p className="muted small">
            The words that raise it: the EOT row of the text tower's R, from block {textStart + 1}. Each block adds the mean over heads of its attention times
            the score’s gradient with respect to it, negative products dropped.
          </p>
          <ColourLegend title="Relevance" note={RELEVANCE_NOTE} />
        </div>
      </div>
    </section>
  );
}
