import { useState } from 'react';
import { BUILT_IN_SCENES } from '../../data/dataset.ts';
import type { SkippedFile } from '../../data/userData.ts';
import { DEFAULT_SAMPLES_PER_SHARD, torchrunCommand, torchrunNote } from '../../data/shardWriter.ts';
import { errorMessage } from '../../format.ts';
import { downloadBlob } from '../heatmap/draw.ts';
import { useAppStore } from '../store.ts';
import { FilesPicker } from './FilesPicker.tsx';
import './evaluate.css';

function SkippedList({ skipped }: { skipped: SkippedFile[] }) {
  if (skipped.length === 0) return null;
  return (
    <details className="more" data-testid="data-skipped" data-count={skipped.length}>
      <summary>
        {skipped.length} {skipped.length === 1 ? 'file was' : 'files were'} skipped
      </summary>
      <ul className="skipped">
        {skipped.map(({ path, reason }) => (
          <li key={`${path}\n${reason}`}>
            <code>{path}</code>: {reason}
          </li>
        ))}
      </ul>
    </details>
  );
}

/**
 * The user's data set as webdataset shards in the reference's layout, downloaded with sizes.json, and the torchrun
 * command that trains on them at scale.
 */
function SaveAsShards() {
  const engine = useAppStore((s) => s.engine);
  const [state, setState] = useState<{ busy: boolean; command: string | null; note: string | null; error: string | null }>({
    busy: false,
    command: null,
    note: null,
    error: null,
  });
  const save = async () => {
    if (!engine) return;
    setState({ busy: true, command: null, note: null, error: null });
    try {
      const { shards, sizes, pattern } = await engine.writeShards(DEFAULT_SAMPLES_PER_SHARD);
      for (const shard of shards) downloadBlob(shard.blob, shard.name);
      downloadBlob(new Blob([sizes], { type: 'application/json' }), 'sizes.json');
      const samples = shards.reduce((n, s) => n + s.samples, 0);
      setState({ busy: false, command: torchrunCommand(pattern, samples, shards.length), note: torchrunNote(shards.length), error: null });
    } catch (failure) {
      setState({ busy: false, command: null, note: null, error: errorMessage(failure) });
    }
  };
  return (
    <div className="small" data-testid="data-shards">
      <button type="button" disabled={state.busy} data-testid="data-shards-button" onClick={() => void save()}>
        {state.busy ? 'Writing shards…' : 'Save as webdataset shards'}
      </button>
      {state.command && (
        <>
          <p className="muted small">Put the shards and sizes.json in one folder; the COSMOS reference trains on them (run in its src/):</p>
          <pre className="evaluate-command" data-testid="data-shards-command">
            {state.command}
          </pre>
          {state.note && (
            <p className="muted small" data-testid="data-shards-note">
              {state.note}.
            </p>
          )}
        </>
      )}
      {state.error && (
        <p className="error-text" role="alert">
          {state.error}
        </p>
      )}
    </div>
  );
}

/** After a reload: the run trained on the user's files, which were not saved with it. */
function ChooseAgain() {
  const trainedOn = useAppStore((s) => s.trainedOn);
  const { name: current, summary } = useAppStore((s) => s.dataSet);
  // The built-in scenes are always there; only the user's files can be missing.
  if (trainedOn === null || trainedOn === BUILT_IN_SCENES || trainedOn === current) return null;
  return (
    <p className="notice notice-info small" data-testid="data-choose-again">
      Before the reload this run trained on <strong>{trainedOn}</strong>. Your files are not kept in the browser: choose them again to go on with them; until
      then it trains on {summary ? current : `the ${current}`}.
    </p>
  );
}

/** What the run trains on now, in a sentence. */
function Current() {
  const { name, summary } = useAppStore((s) => s.dataSet);
  if (!summary) {
    return (
      <p className="small" data-testid="data-summary" data-kind="built-in">
        <strong>Built-in scenes</strong>: emoji objects on varied backgrounds with multi-sentence captions, drawn fresh every step; recall is measured on
        held-out scenes whose object combinations never occur in training.
      </p>
    );
  }
  return (
    <div data-testid="data-summary" data-kind="user" data-used={summary.used} data-skipped={summary.skipped.length}>
      <p className="small">
        <strong>{name}</strong>: {summary.used} image-caption pairs ({summary.heldOut} held out to measure recall), captions from {summary.captionSource}.
      </p>
      <SkippedList skipped={summary.skipped} />
    </div>
  );
}

/**
 * The data set of the Train panel: the built-in scenes, or the user's images with captions (a folder or a zip,
 * chosen or dropped). Decoding happens in the engine worker; this shows its progress, its summary and what it
 * skipped. Locked while training runs.
 */
export function DataPicker({ locked }: { locked: boolean }) {
  const dataSet = useAppStore((s) => s.dataSet);
  const dataLoad = useAppStore((s) => s.dataLoad);
  const engine = useAppStore((s) => s.engine);
  const { trainOnFiles, trainOnBuiltIn } = useAppStore.getState();
  const busy = locked || !engine || dataLoad.status === 'loading';

  return (
    <FilesPicker
      testId="train-data"
      inputsId="data"
      label="Training data"
      accept=".zip,.tar,.png,.jpg,.jpeg,.jsonl,.csv,.txt"
      fileButton="Choose a zip, shards or files…"
      busy={busy}
      onFiles={(files) => void trainOnFiles(files)}
      header={
        <>
          <h3>Data</h3>
          <ChooseAgain />
          <Current />
        </>
      }
      buttons={
        dataSet.summary && (
          <button type="button" disabled={busy} data-testid="data-builtin-button" onClick={() => void trainOnBuiltIn()}>
            Use the built-in scenes
          </button>
        )
      }
    >
      <p className="muted small">
        Or drop a folder or a zip here. Images (.png, .jpg) with captions in <code>captions.jsonl</code>, <code>captions.csv</code> or a <code>.txt</code>{' '}
        beside each image; or webdataset shards (<code>.tar</code>: an image with its <code>.txt</code> or DreamLIP/PixelProse <code>.json</code> captions, read
        as streams). They stay on this computer.
      </p>
      {dataSet.summary && !busy && <SaveAsShards />}
      {dataLoad.status === 'loading' && (
        <div className="progress" data-testid="data-loading">
          <span className="small">
            Reading {dataLoad.name}
            {dataLoad.total > 0 && `: ${dataLoad.done} of ${dataLoad.total} images decoded`}…
          </span>
          <div className="bar" role="progressbar" aria-valuemin={0} aria-valuemax={dataLoad.total} aria-valuenow={dataLoad.done} aria-label="Images decoded">
            <div className="bar-fill" style={{ width: `${dataLoad.total ? (100 * dataLoad.done) / dataLoad.total : 0}%` }} />
          </div>
        </div>
      )}
      {dataLoad.status === 'failed' && (
        <p className="error-text" role="alert" data-testid="data-error">
          {dataLoad.message}
        </p>
      )}
    </FilesPicker>
  );
}
