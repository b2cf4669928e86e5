import type { SelfAttentionResult } from '../../worker/protocol.ts';
import { HeatmapCanvas } from '../heatmap/HeatmapCanvas.tsx';

/** Side of one small multiple: larger when there are few heads, never under 40 px. */
export const cellSize = (heads: number): number => Math.max(40, Math.min(96, Math.floor(480 / heads)));

/**
 * The vision tower's self-attention: the CLS token's weights over the patches for every layer (rows) and head
 * (columns), and the attention rollout through all layers.
 */
export function SelfAttentionGrid({ result, opacity }: { result: SelfAttentionResult; opacity: number }) {
  const heads = result.clsToPatches[0]?.length ?? 0;
  const size = cellSize(heads);
  return (
    <div className="self-attention" data-testid="self-attention">
      <div className="self-attention-rollout">
        <h4>Attention rollout</h4>
        <HeatmapCanvas
          values={result.rollout}
          grid={result.grid}
          image={result.image}
          size={160}
          opacity={opacity}
          testId="rollout-map"
          label="Attention rollout, CLS to patches"
        />
        <p className="muted small">CLS to patches through all layers, residual included (Abnar &amp; Zuidema).</p>
      </div>
      <div className="self-attention-grid-wrap">
        <h4>CLS to patches, per layer and head</h4>
        <div className="self-attention-grid" style={{ gridTemplateColumns: `auto repeat(${heads}, ${size}px)` }}>
          <span />
          {Array.from({ length: heads }, (_, h) => (
            <span key={h} className="grid-label">
              head {h + 1}
            </span>
          ))}
          {result.clsToPatches.map((layer, l) => [
            <span key={`l${l}`} className="grid-label grid-row-label">
              layer {l + 1}
            </span>,
            ...layer.map((values, h) => (
              <HeatmapCanvas
                key={`${l}-${h}`}
                values={values}
                grid={result.grid}
                image={result.image}
                size={size}
                opacity={opacity}
                testId={`self-attention-${l}-${h}`}
                label={`Layer ${l + 1}, head ${h + 1}: CLS to patches`}
              />
            )),
          ])}
        </div>
      </div>
    </div>
  );
}
