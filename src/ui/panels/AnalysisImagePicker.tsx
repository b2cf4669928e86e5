import { errorMessage } from '../../format.ts';
import { useEffect, useState } from 'react';
import { decodeImageBlob } from '../../data/image.ts';
import { preprocessToSize } from '../../data/preprocess.ts';
import { DISPLAY_SIZE } from '../../worker/analysis/inputs.ts';
import type { HeldOutPairResult } from '../../worker/protocol.ts';
import { useAppStore } from '../store.ts';
import { useAnalysisState } from './analysisState.ts';
import { HELD_OUT_COUNT } from '../../data/dataset.ts';

const shortened = (text: string, length = 70) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

/**
 * The picture the analysis panels explain: one of the held-out scenes (object pairs never seen together in
 * training), one of the held-out pairs of the user's data set (with its caption) when the run trains on one, or
 * an uploaded image, centre-cropped to a square as the model's preprocessing does.
 */
export function AnalysisImagePicker({ testId }: { testId: string }) {
  const source = useAnalysisState((s) => s.source);
  const scenes = useAnalysisState((s) => s.scenes);
  const scenesError = useAnalysisState((s) => s.scenesError);
  const set = useAnalysisState((s) => s.set);
  const loadScenes = useAnalysisState((s) => s.loadScenes);
  const imageSize = useAppStore((s) => s.run?.config.vision.imageSize ?? DISPLAY_SIZE);
  const [uploadError, setUploadError] = useState<string | null>(null);
  const engine = useAppStore((s) => s.engine);
  const dataSet = useAppStore((s) => s.dataSet);

  const kinds = useAppStore((s) => s.run?.options.scenes ?? 'all');
  useEffect(() => void loadScenes(kinds), [loadScenes, kinds]);

  const upload = async (file: File | undefined) => {
    if (!file) return;
    try {
      const decoded = await decodeImageBlob(file);
      const side = Math.max(DISPLAY_SIZE, imageSize);
      set({ source: { kind: 'image', image: preprocessToSize(decoded, side), name: file.name }, caption: null, classes: null });
      setUploadError(null);
    } catch (error) {
      setUploadError(errorMessage(error));
    }
  };

  const pickHeldOut = async (index: number) => {
    if (!engine) return;
    try {
      const pair = (await engine.analysis({ kind: 'heldOutPair', index })) as HeldOutPairResult;
      set({ source: { kind: 'image', image: pair.image, name: `held-out ${index} of ${dataSet.name}` }, caption: pair.caption, classes: null });
      setUploadError(null);
    } catch (error) {
      setUploadError(errorMessage(error));
    }
  };

  return (
    <div className="image-picker">
      <label className="field">
        <span>Image</span>
        <select
          data-testid={`${testId}-scene`}
          value={source.kind === 'scene' ? String(source.index) : 'upload'}
          onChange={(event) =>
            event.target.value !== 'upload' && set({ source: { kind: 'scene', index: Number(event.target.value) }, caption: null, classes: null })
          }
        >
          {source.kind === 'image' && <option value="upload">Your image: {source.name}</option>}
          {Array.from({ length: HELD_OUT_COUNT }, (_, i) => (
            <option key={i} value={i}>
              Held-out scene {i}
              {scenes ? `: ${shortened(scenes[i]!.caption)}` : ''}
            </option>
          ))}
        </select>
      </label>
      {dataSet.heldOutCaptions.length > 0 && (
        <label className="field">
          <span>Or from {dataSet.name}</span>
          <select data-testid={`${testId}-heldout`} value="" onChange={(event) => event.target.value !== '' && void pickHeldOut(Number(event.target.value))}>
            <option value="">A held-out image…</option>
            {dataSet.heldOutCaptions.map((caption, i) => (
              <option key={i} value={i}>
                Held-out {i}: {shortened(caption)}
              </option>
            ))}
          </select>
        </label>
      )}
      <label className="file-button">
        <input type="file" accept="image/*" data-testid={`${testId}-upload`} onChange={(event) => void upload(event.target.files?.[0])} />
        <span>Upload an image…</span>
      </label>
      {(uploadError ?? scenesError) && (
        <p className="error-text" role="alert">
          {uploadError ?? scenesError}
        </p>
      )}
    </div>
  );
}
