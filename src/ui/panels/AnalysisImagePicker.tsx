import { useEffect, useState } from 'react';
import { decodeImageBlob } from '../../data/image.ts';
import { preprocessToSize } from '../../eval/preprocess.ts';
import { DISPLAY_SIZE } from '../../worker/analysis/inputs.ts';
import { useAppStore } from '../store.ts';
import { SCENE_CHOICES, useAnalysisState } from './analysisState.ts';

const shortened = (text: string, length = 70) => (text.length > length ? `${text.slice(0, length - 1)}…` : text);

/**
 * The picture the analysis panels explain: one of the held-out scenes (object pairs never seen together in
 * training), or an image of the user's, centre-cropped to a square as the model's preprocessing does.
 */
export function AnalysisImagePicker({ testId }: { testId: string }) {
  const source = useAnalysisState((s) => s.source);
  const scenes = useAnalysisState((s) => s.scenes);
  const scenesError = useAnalysisState((s) => s.scenesError);
  const set = useAnalysisState((s) => s.set);
  const loadScenes = useAnalysisState((s) => s.loadScenes);
  const imageSize = useAppStore((s) => s.run?.config.vision.imageSize ?? DISPLAY_SIZE);
  const [uploadError, setUploadError] = useState<string | null>(null);

  useEffect(() => void loadScenes(), [loadScenes]);

  const upload = async (file: File | undefined) => {
    if (!file) return;
    try {
      const decoded = await decodeImageBlob(file);
      const side = Math.max(DISPLAY_SIZE, imageSize);
      set({ source: { kind: 'image', image: preprocessToSize(decoded, side), name: file.name }, caption: null, classes: null });
      setUploadError(null);
    } catch (error) {
      setUploadError(error instanceof Error ? error.message : String(error));
    }
  };

  return (
    <div className="image-picker">
      <label className="field">
        <span>Image</span>
        <select
          data-testid={`${testId}-scene`}
          value={source.kind === 'scene' ? String(source.index) : 'upload'}
          onChange={(event) => event.target.value !== 'upload' && set({ source: { kind: 'scene', index: Number(event.target.value) }, caption: null, classes: null })}
        >
          {source.kind === 'image' && <option value="upload">Your image: {source.name}</option>}
          {Array.from({ length: SCENE_CHOICES }, (_, i) => (
            <option key={i} value={i}>
              Held-out scene {i}
              {scenes ? `: ${shortened(scenes[i]!.caption)}` : ''}
            </option>
          ))}
        </select>
      </label>
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
