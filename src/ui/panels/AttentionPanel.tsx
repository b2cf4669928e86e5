import { errorMessage } from '../../format.ts';
import { useEffect, useRef, useState } from 'react';
import type { AttentionResult, SelfAttentionResult, Weights } from '../../worker/protocol.ts';
import { ColourLegend } from '../heatmap/ColourLegend.tsx';
import { HeatmapCanvas } from '../heatmap/HeatmapCanvas.tsx';
import { TokenStrip } from '../heatmap/TokenStrip.tsx';
import { downloadBlob } from '../heatmap/draw.ts';
import { figurePng } from '../heatmap/figure.ts';
import { shownTokens } from '../heatmap/tokens.ts';
import { useAppStore } from '../store.ts';
import { AnalysisImagePicker } from './AnalysisImagePicker.tsx';
import { Panel } from './Panel.tsx';
import { RelevanceBlock } from './RelevanceBlock.tsx';
import { bestPointingMap, pointingMapName } from './pointingMap.ts';
import { SelfAttentionGrid } from './SelfAttentionGrid.tsx';
import { effectiveCaption, imageInput, useAnalysisState } from './analysisState.ts';
import { useAnalysis } from './useAnalysis.ts';
import './analysis.css';

export const NORMALIZATION_NOTE =
  'Attention weights, min-max normalized per map to [0, 1] as in the COSMOS paper: 0 is the lowest weight of that map, 1 its highest.';
/** While training runs, the maps refresh after a step at most this often (ms): every few steps on a CPU, not every step on a GPU. */
const LIVE_INTERVAL = 4000;

/** The pooler head shown: a valid head index, or null for the mean over heads. */
const headOf = (head: number | null, heads: number): number | null => (head !== null && head < heads ? head : null);

function patchMap(result: AttentionResult, head: number | null, sentence: number | null): Float32Array {
  if (sentence !== null) return result.sentences[sentence]!.patchMean;
  return head === null ? result.patchMean : result.patchHeads[head]!;
}

/**
 * The COSMOS heatmaps of one image and one caption, and the vision tower's self-attention beside them: what the
 * model looks at for each word, and what each word gets from the image; on request, the gradient x attention
 * relevance of both towers for the pair's score (RelevanceBlock), for COSMOS and plain CLIP models alike.
 */
export function AttentionPanel() {
  const state = useAnalysisState();
  const { source, weights, head, scenes, relevance: withRelevance, start } = state;
  const caption = effectiveCaption(state);
  const hasTeacher = useAppStore((s) => s.run?.options.mode === 'cosmos');
  const runState = useAppStore((s) => s.runState);
  const step = useAppStore((s) => s.step);
  const cross = useAnalysis('attention');
  const self = useAnalysis('selfAttention');
  const relevance = useAnalysis('relevance');
  const [draft, setDraft] = useState(caption);
  const [opacity, setOpacity] = useState(0.6);
  const [showSpecial, setShowSpecial] = useState(false);
  const [sentence, setSentence] = useState<number | null>(null);
  const [live, setLive] = useState(true);
  const [exportError, setExportError] = useState<string | null>(null);
  const computedAt = useRef({ step: -1, time: 0 });
  const busy = cross.busy || self.busy || relevance.busy;

  useEffect(() => setDraft(caption), [caption]);

  const sceneReady = source.kind === 'image' || scenes !== null;
  const compute = () => {
    if (!cross.ready || !sceneReady || !caption.trim()) return;
    computedAt.current = { step, time: performance.now() };
    setSentence(null);
    void cross.run({ kind: 'attention', image: imageInput(source), caption, weights });
    void self.run({ kind: 'selfAttention', image: imageInput(source), weights });
    computeRelevance();
  };
  function computeRelevance() {
    if (withRelevance && relevance.ready && sceneReady && caption.trim())
      void relevance.run({ kind: 'relevance', image: imageInput(source), caption, weights });
  }
  // New inputs, or a new model (a checkpoint loaded, a run built): compute again.
  const model = useAppStore((s) => s.run);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the list names what triggers a recomputation (a new model included), not what compute reads
  useEffect(compute, [cross.ready, sceneReady, source, caption, weights, model]);
  // Relevance asked for on the maps shown: only it is computed.
  // biome-ignore lint/correctness/useExhaustiveDependencies: turning it on triggers it; the inputs are read as they are then
  useEffect(computeRelevance, [withRelevance]);
  // While it trains, the maps follow the model.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new step triggers it; compute and the calls are read as they are then
  useEffect(() => {
    const last = computedAt.current;
    if (live && runState === 'running' && step > last.step && performance.now() - last.time >= LIVE_INTERVAL && !busy) compute();
  }, [live, runState, step, busy]);

  const submitCaption = () => {
    // The same caption again: the inputs do not change, so compute here (after training, say).
    if (draft === caption) return compute();
    state.set({ caption: source.kind === 'scene' && draft === scenes?.[source.index]?.caption ? null : draft });
  };
  // A plain CLIP model answers with why it has no maps instead.
  const answer = cross.result;
  const result = answer && 'patchMean' in answer ? answer : null;
  const unavailable = answer && 'unavailable' in answer ? answer.unavailable : null;
  const heads = result?.patchHeads.length ?? 0;
  const shownHead = headOf(head, heads);
  const error = cross.error ?? self.error ?? (withRelevance ? relevance.error : null) ?? exportError;
  // The caption's sentences: from the poolers' answer, or from the relevance's where the model has no poolers.
  const sentences = result ? result.sentences.map((s) => s.text) : withRelevance && relevance.result ? relevance.result.texts.slice(1).map((t) => t.text) : [];
  const relevanceBlock = withRelevance && (
    <RelevanceBlock
      result={relevance.result}
      busy={relevance.busy}
      sentence={sentence}
      start={start}
      onStart={(block) => state.set({ start: block })}
      opacity={opacity}
      showSpecial={showSpecial}
      weights={weights}
      fileName={`cosmos-relevance-${source.kind === 'scene' ? `scene${source.index}` : 'image'}.png`}
    />
  );
  const sentenceChoice = sentences.length > 0 && <SentenceChoice sentences={sentences} sentence={sentence} onChange={setSentence} />;

  const exportFigure = async () => {
    if (!result) return;
    try {
      const headText = shownHead === null ? 'mean over heads' : `head ${shownHead + 1}`;
      const sentenceText = sentence === null ? '' : ` (sentence "${result.sentences[sentence]!.text}", mean over heads)`;
      const blob = await figurePng({
        title: `COSMOS cross-attention, ${weights}, ${headText}: "${caption}"`,
        maps: [
          { label: `Caption to image patches${sentenceText}`, image: result.image, values: patchMap(result, shownHead, sentence), grid: result.grid },
          ...(self.result ? [{ label: 'ViT attention rollout', image: self.result.image, values: self.result.rollout, grid: self.result.grid }] : []),
        ],
        grid: self.result ? selfAttentionGrid(self.result) : undefined,
        tokens: {
          title: 'Image to caption tokens',
          tokens: shownTokens(result.tokens, shownHead === null ? result.tokenMean : result.tokenHeads[shownHead]!, showSpecial),
        },
        legend: NORMALIZATION_NOTE,
        opacity,
      });
      downloadBlob(blob, `cosmos-attention-${source.kind === 'scene' ? `scene${source.index}` : 'image'}.png`);
      setExportError(null);
    } catch (failure) {
      setExportError(errorMessage(failure));
    }
  };

  return (
    <Panel
      title="Attention"
      testId="attention-panel"
      wide
      aside={
        <span className="badge" data-testid="attention-status" data-busy={busy}>
          {busy ? 'computing…' : result ? `${weights}` : unavailable ? 'no poolers' : 'no maps yet'}
        </span>
      }
    >
      <div className="analysis-controls">
        <AnalysisImagePicker testId="attention" />
        <WeightsChoice value={weights} hasTeacher={hasTeacher} onChange={(w) => state.set({ weights: w })} testId="attention-weights" />
        <label className="field">
          <span>Head</span>
          <select
            data-testid="attention-head"
            value={shownHead === null ? 'mean' : String(shownHead)}
            disabled={heads === 0 || sentence !== null}
            onChange={(event) => state.set({ head: event.target.value === 'mean' ? null : Number(event.target.value) })}
          >
            <option value="mean">mean over heads</option>
            {Array.from({ length: heads }, (_, h) => (
              <option key={h} value={h}>
                head {h + 1} of {heads}
              </option>
            ))}
          </select>
        </label>
        <label className="field field-range">
          <span>Overlay</span>
          <input
            type="range"
            min={0}
            max={1}
            step={0.05}
            value={opacity}
            onChange={(event) => setOpacity(Number(event.target.value))}
            aria-label="Overlay opacity"
          />
        </label>
        <label className="check" title="Chefer, Gur & Wolf (ICCV 2021): each block's attention weighed by the score's gradient; a backward pass per text">
          <input
            type="checkbox"
            data-testid="attention-relevance"
            checked={withRelevance}
            onChange={(event) => state.set({ relevance: event.target.checked })}
          />{' '}
          Relevance (gradient × attention)
        </label>
      </div>

      <form
        className="caption-form"
        onSubmit={(event) => {
          event.preventDefault();
          submitCaption();
        }}
      >
        <label className="field field-wide">
          <span>Caption</span>
          <textarea
            data-testid="attention-caption"
            rows={2}
            value={draft}
            placeholder={source.kind === 'image' ? 'Describe your image…' : 'Loading the scene’s caption…'}
            onChange={(event) => setDraft(event.target.value)}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && !event.shiftKey) {
                event.preventDefault();
                submitCaption();
              }
            }}
          />
        </label>
        <div className="button-row">
          <button type="submit" data-testid="attention-run" disabled={!cross.ready || !draft.trim()}>
            {draft === caption && result ? 'Recompute' : 'Show maps'}
          </button>
          {source.kind === 'scene' && state.caption !== null && (
            <button type="button" className="link-button" onClick={() => state.set({ caption: null })}>
              Use the scene’s caption
            </button>
          )}
          <label className="check">
            <input type="checkbox" checked={live} onChange={(event) => setLive(event.target.checked)} /> Follow training
          </label>
          <button type="button" data-testid="attention-export" disabled={!result} onClick={() => void exportFigure()}>
            Export PNG
          </button>
        </div>
      </form>

      {error && (
        <p className="error-text" role="alert" data-testid="attention-error">
          {error}
        </p>
      )}
      {!cross.ready && <p className="muted">Waiting for the model to be built…</p>}

      {unavailable && (
        <div className="attention-figure" data-testid="attention-figure">
          <section className="figure-block" data-testid="cross-attention-unavailable">
            <h3>Cross-attention</h3>
            <p>{unavailable}</p>
          </section>
          <SelfAttentionBlock result={self.result} busy={self.busy} opacity={opacity} />
          {sentenceChoice}
          {relevanceBlock}
        </div>
      )}
      {result && (
        <div className="attention-figure" data-testid="attention-figure">
          {/* Relevance asked for: it leads, with the sentences to pick from; the pooler's map follows. */}
          {withRelevance && sentenceChoice}
          {relevanceBlock}
          <section className="figure-block" data-testid="pooler-block">
            <h3>Caption → image patches</h3>
            <HeatmapCanvas
              values={patchMap(result, shownHead, sentence)}
              grid={result.grid}
              image={result.image}
              size={300}
              opacity={opacity}
              testId="patch-map"
              label={
                sentence === null
                  ? 'Patch-wise cross-attention of the caption over the image'
                  : `Patch-wise map of the sentence "${result.sentences[sentence]!.text}"`
              }
            />
            <p className="muted small">
              <code>visual.attn_cross_pool</code>: the {sentence === null ? 'caption' : 'sentence'}’s embedding queries the {result.grid[0]}×{result.grid[1]}{' '}
              patches; {sentence !== null || shownHead === null ? 'mean over heads' : `head ${shownHead + 1}`}.
            </p>
            {withRelevance && <PoolerNote />}
            <ColourLegend title="Attention weight" note={NORMALIZATION_NOTE} />
          </section>
          <SelfAttentionBlock result={self.result} busy={self.busy} opacity={opacity} />
          <section className="figure-block figure-block-full">
            <div className="figure-block-header">
              <h3>Image → caption tokens</h3>
              <label className="check">
                <input type="checkbox" data-testid="attention-special" checked={showSpecial} onChange={(event) => setShowSpecial(event.target.checked)} /> Show
                SOT, EOT and padding
              </label>
            </div>
            <TokenStrip
              tokens={result.tokens}
              weights={shownHead === null ? result.tokenMean : result.tokenHeads[shownHead]!}
              showSpecial={showSpecial}
              testId="token-map"
            />
            <p className="muted small">
              <code>text_attn_cross_pool</code>: the image’s embedding queries the caption’s {result.tokens.length} token positions (padding included, as the
              model attends to it); {shownHead === null ? 'mean over heads' : `head ${shownHead + 1}`}, normalized over the tokens shown.
            </p>
          </section>
          {!withRelevance && sentenceChoice}
        </div>
      )}
    </Panel>
  );
}

/**
 * Why the pooler's map follows the relevance: trained to make a sentence's embedding match the whole scene's, the
 * pooler fetches what the sentence does not say. On the demo model as shipped, with the numbers that show it.
 */
function PoolerNote() {
  const demos = useAppStore((s) => s.demos);
  const demoModel = useAppStore((s) => s.demoModel);
  const fetches =
    'trained to make a sentence’s embedding match the whole scene’s, the pooler fetches what the sentence does not say (mostly the other objects) and peaks there';
  const card = demoModel === 'cosmos' ? demos?.models.cosmos : undefined;
  const best = card ? bestPointingMap(card.evaluate) : null;
  const pooler = card?.evaluate.pointing_cross_attention;
  if (!card || !best || best.kind !== 'relevance' || pooler === null || pooler === undefined) {
    return (
      <p className="small" data-testid="pooler-note">
        Shown second: {fetches}, so it need not peak on the sentence’s own object; relevance shows the patches that raise the sentence’s score.
      </p>
    );
  }
  return (
    <p className="small" data-testid="pooler-note">
      Shown second: on the demo model as shipped it peaks on the sentence’s own object for {percent(pooler)} of held-out objects (chance{' '}
      {percent(card.evaluate.chance.pointing_cross_attention ?? null)}), {pointingMapName(best)} for {percent(best.value)}: {fetches}.
    </p>
  );
}

const percent = (x: number | null): string => (x === null ? '–' : `${(x * 100).toFixed(1)}%`);

/** The whole caption, or one of its sentences embedded alone: the patch and relevance maps follow the choice. */
function SentenceChoice({ sentences, sentence, onChange }: { sentences: string[]; sentence: number | null; onChange(sentence: number | null): void }) {
  return (
    <section className="figure-block figure-block-full">
      <h3>Sentences</h3>
      <p className="muted small">Each sentence of the caption, embedded alone: click one to see its own maps.</p>
      <ul className="sentence-list" data-testid="attention-sentences">
        <li>
          <button type="button" className={sentence === null ? 'chip chip-on' : 'chip'} onClick={() => onChange(null)}>
            Whole caption
          </button>
        </li>
        {sentences.map((text, i) => (
          <li key={i}>
            <button type="button" className={sentence === i ? 'chip chip-on' : 'chip'} onClick={() => onChange(i)} data-testid={`attention-sentence-${i}`}>
              {text}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function SelfAttentionBlock({ result, busy, opacity }: { result: SelfAttentionResult | null; busy: boolean; opacity: number }) {
  return (
    <section className="figure-block figure-block-grow">
      <h3>ViT self-attention</h3>
      {result ? <SelfAttentionGrid result={result} opacity={opacity} /> : <p className="muted">{busy ? 'Computing…' : ''}</p>}
    </section>
  );
}

function selfAttentionGrid(result: SelfAttentionResult) {
  const heads = result.clsToPatches[0]?.length ?? 0;
  return {
    title: 'ViT self-attention, CLS to patches',
    rowLabels: result.clsToPatches.map((_, l) => `layer ${l + 1}`),
    columnLabels: Array.from({ length: heads }, (_, h) => `head ${h + 1}`),
    maps: result.clsToPatches.map((layer, l) =>
      layer.map((values, h) => ({ label: `layer ${l + 1} head ${h + 1}`, image: result.image, values, grid: result.grid })),
    ),
  };
}

/** Student or teacher; the teacher only exists when the run self-distils (COSMOS mode). */
export function WeightsChoice({ value, hasTeacher, onChange, testId }: { value: Weights; hasTeacher: boolean; onChange(w: Weights): void; testId: string }) {
  return (
    <fieldset className="segmented" data-testid={testId}>
      <legend>Model</legend>
      <div className="segment-row">
        {(['student', 'teacher'] as const).map((w) => (
          <label
            key={w}
            className={value === w ? 'segment segment-on' : 'segment'}
            title={w === 'teacher' && !hasTeacher ? 'A CLIP-mode run has no teacher' : undefined}
          >
            <input type="radio" name={testId} value={w} checked={value === w} disabled={w === 'teacher' && !hasTeacher} onChange={() => onChange(w)} />
            {w}
          </label>
        ))}
      </div>
    </fieldset>
  );
}
