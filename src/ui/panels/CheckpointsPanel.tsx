import { errorMessage } from '../../format.ts';
import { useCallback, useEffect, useState } from 'react';
import type { Progress } from '../../worker/client.ts';
import type { SavedCheckpoint, Weights } from '../../worker/protocol.ts';
import { downloadBlob } from '../heatmap/draw.ts';
import { formatBytes } from '../../format.ts';
import { useAppStore } from '../store.ts';
import { Panel } from './Panel.tsx';
import { type SavedAction, SavedCheckpointsTable } from './SavedCheckpointsTable.tsx';
import './analysis.css';

type Loading = { file: string; progress: Progress | null } | null;

/** Bytes uploaded so far, over every part read (student weights, then teacher weights). */
const bytesRead = (parts: Map<string, number>) => [...parts.values()].reduce((a, b) => a + b, 0);

/**
 * Checkpoints in and out: load a model (a COSMOS, OpenCLIP or OpenAI checkpoint file, or an OpenCLIP hub or Hugging
 * Face folder), keep runs in this browser, download the model.
 */
export function CheckpointsPanel() {
  const engine = useAppStore((s) => s.engine);
  const model = useAppStore((s) => s.run);
  const source = model?.source ?? null;
  const [weights, setWeights] = useState<Weights>('student');
  const [loading, setLoading] = useState<Loading>(null);
  const [loaded, setLoaded] = useState<{ name: string; bytes: number } | null>(null);
  const [saved, setSaved] = useState<SavedCheckpoint[] | null>(null);
  const [busy, setBusy] = useState<'save' | 'export' | SavedAction | null>(null);
  const [error, setError] = useState<string | null>(null);

  const refresh = useCallback(async () => {
    if (!engine) return;
    try {
      setSaved(await engine.listCheckpoints());
    } catch (failure) {
      setError(errorMessage(failure));
    }
  }, [engine]);
  useEffect(() => void refresh(), [refresh]);

  const load = async (files: File[]) => {
    if (!engine || files.length === 0) return;
    const name = files.length === 1 ? files[0]!.name : files[0]!.webkitRelativePath.split('/')[0] || `${files.length} files`;
    setLoading({ file: name, progress: null });
    setError(null);
    const parts = new Map<string, number>();
    try {
      await engine.loadCheckpoint(files, weights, (progress) => {
        parts.set(progress.what, progress.done);
        setLoading({ file: name, progress });
      });
      setLoaded({ name, bytes: bytesRead(parts) });
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setLoading(null);
    }
  };

  const act = async (what: 'save' | 'export') => {
    if (!engine) return;
    setBusy(what);
    setError(null);
    try {
      if (what === 'save') await engine.saveCheckpoint();
      else {
        const { blob, name } = await engine.exportCheckpoint();
        downloadBlob(blob, name);
      }
      await refresh();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(null);
    }
  };

  const onSaved = async (action: SavedAction, name: string) => {
    if (!engine) return;
    setBusy(action);
    setError(null);
    try {
      if (action === 'delete') await engine.deleteSaved(name);
      else {
        const file = await engine.openSaved(name);
        if (action === 'download') downloadBlob(file, name);
        else await load([file]);
      }
      await refresh();
    } catch (failure) {
      setError(errorMessage(failure));
    } finally {
      setBusy(null);
    }
  };

  const progress = loading?.progress;
  return (
    <Panel
      title="Checkpoints"
      testId="checkpoints-panel"
      wide
      aside={model && <span className="badge">{model.preset ? `${model.preset} preset` : 'loaded model'}</span>}
    >
      <section className="figure-block figure-block-full">
        <h3>Load a checkpoint</h3>
        <p className="muted">
          A COSMOS checkpoint (a released file with student and teacher), or a plain CLIP model: an OpenCLIP state_dict (<code>.pt</code>, <code>.bin</code>,{' '}
          <code>.safetensors</code>, with its <code>open_clip_config.json</code> chosen beside it or in its folder), OpenAI’s TorchScript <code>.pt</code>, or a
          Hugging Face CLIPModel folder (<code>config.json</code> and <code>model.safetensors</code> or <code>pytorch_model.bin</code>). It becomes the model
          every panel explains, and training fine-tunes it: a plain CLIP model gets COSMOS’s poolers, token mappings and distillation temperature, as the
          reference starts from pretrained CLIP. Only the weights chosen are read; the optimizer state never is; nothing in a file is run.
        </p>
        <div className="analysis-controls">
          <label className="field">
            <span>Weights</span>
            <select data-testid="checkpoint-weights" value={weights} onChange={(event) => setWeights(event.target.value as Weights)}>
              <option value="student">student</option>
              <option value="teacher">teacher</option>
            </select>
          </label>
          <label className="file-button">
            <input
              type="file"
              multiple
              accept=".pt,.pth,.bin,.safetensors,.json"
              data-testid="checkpoint-file"
              disabled={!engine || loading !== null}
              onChange={(event) => {
                void load([...(event.target.files ?? [])]);
                event.target.value = '';
              }}
            />
            <span>Choose files…</span>
          </label>
          <label className="file-button">
            <input
              type="file"
              ref={(input) => input?.setAttribute('webkitdirectory', '')}
              data-testid="checkpoint-folder"
              disabled={!engine || loading !== null}
              onChange={(event) => {
                void load([...(event.target.files ?? [])]);
                event.target.value = '';
              }}
            />
            <span>Choose a folder…</span>
          </label>
        </div>
        {loading && (
          <div className="load-progress" data-testid="checkpoint-progress">
            <progress max={progress?.total || 1} value={progress?.done ?? 0} />
            <span className="muted small">
              {loading.file}: {progress ? `${progress.what}, ${formatBytes(progress.done)} of ${formatBytes(progress.total)}` : 'reading the index…'}
            </span>
          </div>
        )}
        {loaded && !loading && (
          <p data-testid="checkpoint-loaded">
            Loaded {source?.name ?? loaded.name}
            {source && (
              <>
                {' '}
                (
                <span data-testid="checkpoint-kind">{`${source.kind} ${source.architecture}, ${source.dtype}${source.weights === 'state_dict' ? '' : `, ${source.weights} weights`}`}</span>
                ; architecture from {source.configFrom})
              </>
            )}
            {model ? `: ${model.parameters.toLocaleString('en-US')} parameters, ${model.config.vision.imageSize} px images` : ''}; {formatBytes(loaded.bytes)}{' '}
            of weights uploaded to the GPU.
            {source?.addedCosmosParts &&
              ' A plain CLIP model: COSMOS’s poolers, token mappings and distillation temperature were added, untrained, for fine-tuning.'}
          </p>
        )}
      </section>

      <section className="figure-block figure-block-full">
        <h3>Saved in this browser</h3>
        <div className="button-row">
          <button type="button" data-testid="checkpoint-save" disabled={!model || busy !== null} onClick={() => void act('save')}>
            {busy === 'save' ? 'Saving…' : 'Save the current model'}
          </button>
          <button type="button" data-testid="checkpoint-export" disabled={!model || busy !== null} onClick={() => void act('export')}>
            {busy === 'export' ? 'Writing…' : 'Download the current model (.pt)'}
          </button>
        </div>
        {saved === null ? (
          <p className="muted">Looking…</p>
        ) : saved.length === 0 ? (
          <p className="muted" data-testid="checkpoint-list">
            Nothing saved yet.
          </p>
        ) : (
          <SavedCheckpointsTable saved={saved} disabled={busy !== null || loading !== null} onAction={(action, name) => void onSaved(action, name)} />
        )}
        <p className="muted small">
          Downloads are written in the released COSMOS layout (student, teacher, optimizer), which PyTorch and the reference code load. Each is written into
          this browser's storage first (it appears in this list) and saved from there, so a large model never has to fit in memory.
        </p>
      </section>
      {error && (
        <p className="error-text" role="alert" data-testid="checkpoint-error">
          {error}
        </p>
      )}
    </Panel>
  );
}
