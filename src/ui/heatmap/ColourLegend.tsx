import { heatGradientCss } from './colormap.ts';

interface ColourLegendProps {
  /** What the colours measure. */
  title: string;
  /** How the values were scaled, in words. */
  note?: string;
  /** Labels under the ends of the bar. */
  low?: string;
  high?: string;
}

const GRADIENT = heatGradientCss();

/** The colour bar of the heat maps, with its scale in words. */
export function ColourLegend({ title, note, low = '0', high = '1' }: ColourLegendProps) {
  return (
    <figure className="colour-legend" data-testid="colour-legend">
      <figcaption>{title}</figcaption>
      <div className="colour-legend-bar" style={{ background: GRADIENT }} aria-hidden="true" />
      <div className="colour-legend-ticks" aria-hidden="true">
        <span>{low}</span>
        <span>{high}</span>
      </div>
      {note && <p className="colour-legend-note">{note}</p>}
    </figure>
  );
}
