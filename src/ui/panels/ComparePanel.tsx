import { useEffect, useState } from 'react';
import type { ComparedModel, DemoModelCard, DemoName } from '../../worker/protocol.ts';
import { ColourLegend } from '../heatmap/ColourLegend.tsx';
import { HeatmapCanvas } from '../heatmap/HeatmapCanvas.tsx';
import { useAppStore } from '../store.ts';
import { AnalysisImagePicker } from './AnalysisImagePicker.tsx';
import { NORMALIZATION_NOTE } from './AttentionPanel.tsx';
import { Panel } from './Panel.tsx';
import { effectiveCaption, imageInput, useAnalysisState } from './analysisState.ts';
import { useAnalysis } from './useAnalysis.ts';
import './analysis.css';

const TITLE: Record<DemoName, string> = { cosmos: 'COSMOS', clip: 'CLIP' };
const percent = (x: number | null | undefined): string => (x === null || x === undefined ? '–' : `${(x * 100).toFixed(1)}%`);

/** The held-out numbers of one demo model, beside their chance levels. */
function Scorecard({ card, name }: { card: DemoModelCard; name: DemoName }) {
  const e = card.evaluate;
  const rows: [string, number | null, number | null | undefined][] = [
    ['image → text R@1', e.i2t_r1, e.chance.i2t_r1],
    ['text → image R@1', e.t2i_r1, e.chance.t2i_r1],
    ['pointing, cross-attention', e.pointing_cross_attention, e.chance.pointing_cross_attention],
    ['pointing, dense features', e.pointing_dense, e.chance.pointing_dense],
    ['pointing, relevance from block 1', e.pointing_relevance_block0, e.chance.pointing_relevance_block0],
    ['segmentation mIoU', e.miou, e.chance.miou],
  ];
  return (
    <table className="scorecard" data-testid={`compare-scores-${name}`}>
      <thead>
        <tr>
          <th>held out</th>
          <th>{TITLE[name]}</th>
          <th>chance</th>
        </tr>
      </thead>
      <tbody>
        {rows.map(([label, value, chance]) => (
          <tr key={label}>
            <td>{label}</td>
            <td>{value === null ? 'no pooler' : percent(value)}</td>
            <td className="muted">{percent(chance)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** One model's column: its maps of the caption (or of one sentence) over the picture. */
function ModelColumn({
  model,
  card,
  sentence,
  image,
  grid,
  opacity,
}: {
  model: ComparedModel;
  card: DemoModelCard;
  sentence: number | null;
  image: Parameters<typeof HeatmapCanvas>[0]['image'];
  grid: [number, number];
  opacity: number;
}) {
  const maps = sentence === null ? model : model.sentences[sentence]!;
  const what = sentence === null ? 'caption' : 'sentence';
  return (
    <section className="figure-block" data-testid={`compare-${model.name}`}>
      <h3>
        {TITLE[model.name]} <span className="muted small">logit {model.logit.toFixed(2)}</span>
      </h3>
      <p className="muted small">
        Trained {Math.round(card.seconds / 60)} min, {card.steps} steps, {card.mode === 'cosmos' ? 'COSMOS objective' : 'CLIP objective only'}.
      </p>
      {maps.crossAttention ? (
        <HeatmapCanvas
          values={maps.crossAttention}
          grid={grid}
          image={image}
          size={220}
          opacity={opacity}
          testId={`compare-${model.name}-cross`}
          label={`${TITLE[model.name]}: cross-attention of the ${what} over the patches`}
        />
      ) : (
        <p className="compare-none" data-testid={`compare-${model.name}-no-cross`}>
          No cross-attention map: CLIP learns one embedding per image and per caption, and nothing that says where in the image a caption is.
        </p>
      )}
      <p className="muted small">{maps.crossAttention ? `visual.attn_cross_pool, the ${what} as query, mean over heads` : ''}</p>
      <HeatmapCanvas
        values={maps.dense}
        grid={grid}
        image={image}
        size={220}
        opacity={opacity}
        testId={`compare-${model.name}-dense`}
        label={`${TITLE[model.name]}: cosines of the ${what} with the dense patch features`}
      />
      <p className="muted small">Cosines of the {what}’s embedding with each patch’s feature (ln_post · proj): a map any CLIP model has.</p>
      <Scorecard card={card} name={model.name} />
    </section>
  );
}

/**
 * CLIP vs COSMOS: the two demo models, trained alike for the same wall clock, on the same picture and caption.
 * COSMOS's pooler says where a caption is; CLIP's only map is its dense cosines. The paper's argument at toy scale.
 */
export function ComparePanel() {
  const demos = useAppStore((s) => s.demos);
  const runKinds = useAppStore((s) => s.run?.options.scenes ?? null);
  const explore = useAppStore((s) => s.explore);
  const state = useAnalysisState();
  const { source, scenes } = state;
  const caption = effectiveCaption(state);
  const call = useAnalysis('compare');
  const [sentence, setSentence] = useState<number | null>(null);
  const [opacity, setOpacity] = useState(0.6);
  const [draft, setDraft] = useState(caption);
  useEffect(() => setDraft(caption), [caption]);

  const sceneReady = source.kind === 'image' || scenes !== null;
  const compute = () => {
    if (!demos || !call.ready || !sceneReady || !caption.trim()) return;
    setSentence(null);
    void call.run({ kind: 'compare', image: imageInput(source), caption });
  };
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list names what triggers a recomputation
  useEffect(compute, [demos, call.ready, sceneReady, source, caption]);

  if (!demos) {
    return (
      <Panel title="CLIP vs COSMOS" testId="compare-panel" wide>
        <p className="muted">This build has no demo models (public/models/demo.json): train a model in each mode to compare them.</p>
      </Panel>
    );
  }
  const result = call.result;
  const sentences = result?.models[0]?.sentences ?? [];
  return (
    <Panel title="CLIP vs COSMOS" testId="compare-panel" wide aside={<span className="badge">{call.busy ? 'computing…' : 'demo models'}</span>}>
      <p className="muted">
        The same tiny architecture trained the same wall clock on the {demos.scenes === 'teaching' ? 'teaching scenes' : 'built-in scenes'}, once with CLIP’s
        objective and once with COSMOS’s. Both rank images and captions; only COSMOS has a pooler that maps a caption over the image. The scorecards say how
        often each map peaks on a sentence’s own object.
      </p>
      {runKinds !== null && runKinds !== demos.scenes && source.kind === 'scene' && (
        <p className="notice notice-info" data-testid="compare-other-scenes">
          These held-out scenes are drawn from {runKinds === 'all' ? 'all 300 emoji' : 'the teaching set'}; the demo models learned{' '}
          {demos.scenes === 'teaching' ? 'the teaching set' : 'all 300 emoji'}.{' '}
          <button type="button" className="link-button" onClick={() => void explore()}>
            Explore the demo model’s own scenes
          </button>
        </p>
      )}
      <div className="analysis-controls">
        <AnalysisImagePicker testId="compare" />
        <label className="field field-range">
          <span>Overlay</span>
          <input type="range" min={0} max={1} step={0.05} value={opacity} onChange={(e) => setOpacity(Number(e.target.value))} aria-label="Overlay opacity" />
        </label>
      </div>
      <form
        className="caption-form"
        onSubmit={(event) => {
          event.preventDefault();
          if (draft === caption) compute();
          else state.set({ caption: source.kind === 'scene' && draft === scenes?.[source.index]?.caption ? null : draft });
        }}
      >
        <label className="field field-wide">
          <span>Caption</span>
          <textarea data-testid="compare-caption" rows={2} value={draft} onChange={(e) => setDraft(e.target.value)} />
        </label>
        <div className="button-row">
          <button type="submit" data-testid="compare-run" disabled={!call.ready || !draft.trim()}>
            Compare
          </button>
        </div>
      </form>
      {call.error && (
        <p className="error-text" role="alert" data-testid="compare-error">
          {call.error}
        </p>
      )}
      {sentences.length > 0 && (
        <ul className="sentence-list" data-testid="compare-sentences">
          <li>
            <button type="button" className={sentence === null ? 'chip chip-on' : 'chip'} onClick={() => setSentence(null)}>
              Whole caption
            </button>
          </li>
          {sentences.map((s, i) => (
            <li key={s.text}>
              <button type="button" className={sentence === i ? 'chip chip-on' : 'chip'} onClick={() => setSentence(i)} data-testid={`compare-sentence-${i}`}>
                {s.text}
              </button>
            </li>
          ))}
        </ul>
      )}
      {result && (
        <div className="attention-figure compare-figure" data-testid="compare-figure">
          {result.models.map((m) => (
            <ModelColumn key={m.name} model={m} card={demos.models[m.name]} sentence={sentence} image={result.image} grid={result.grid} opacity={opacity} />
          ))}
        </div>
      )}
      {result && <ColourLegend title="Map value" note={NORMALIZATION_NOTE} />}
    </Panel>
  );
}
