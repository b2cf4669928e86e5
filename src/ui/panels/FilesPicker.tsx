import { type DragEvent, type ReactNode, useState } from 'react';
import { droppedFiles, type PathedBlob } from '../../data/userData-browser.ts';

/** What a file input chose: a directory input names files by their path under the chosen folder. */
const pathed = (files: FileList): PathedBlob[] => Array.from(files, (file) => ({ path: file.webkitRelativePath || file.name, blob: file }));

interface FilesPickerProps {
  /** The drop zone's data-testid. */
  testId: string;
  /** Its inputs are `${inputsId}-folder-input` and `${inputsId}-file-input`. */
  inputsId: string;
  label: string;
  /** What the file input accepts, and its button's words. */
  accept: string;
  fileButton: string;
  /** No choosing or dropping while busy. */
  busy: boolean;
  /** A drop's files are read after the event: they come as a promise. */
  onFiles: (files: PathedBlob[] | Promise<PathedBlob[]>) => void;
  /** Shown above the buttons. */
  header: ReactNode;
  /** Buttons beside the two choosers. */
  buttons?: ReactNode;
  /** Shown below the buttons. */
  children?: ReactNode;
}

/**
 * The user's data set, chosen as a folder or as files (a zip, shards), or dropped: one drop zone for every panel
 * that reads the user's files (Train's data, Evaluate's data set).
 */
export function FilesPicker({ testId, inputsId, label, accept, fileButton, busy, onFiles, header, buttons, children }: FilesPickerProps) {
  const [over, setOver] = useState(false);
  const chosen = (event: { target: { files: FileList | null } }) => {
    if (event.target.files?.length) onFiles(pathed(event.target.files));
  };
  return (
    <section
      className={over ? 'data-picker data-picker-over' : 'data-picker'}
      data-testid={testId}
      aria-label={label}
      onDragOver={(event: DragEvent) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = busy ? 'none' : 'copy';
        setOver(!busy);
      }}
      onDragLeave={() => setOver(false)}
      onDrop={(event: DragEvent) => {
        event.preventDefault();
        setOver(false);
        // The entries must be taken while the event is dispatched; their contents are read later.
        if (!busy) onFiles(droppedFiles(event.dataTransfer));
      }}
    >
      {header}
      <div className="button-row">
        <label className="file-button" aria-disabled={busy}>
          <input
            type="file"
            ref={(input) => input?.setAttribute('webkitdirectory', '')}
            disabled={busy}
            data-testid={`${inputsId}-folder-input`}
            onChange={chosen}
          />
          <span>Choose a folder…</span>
        </label>
        <label className="file-button" aria-disabled={busy}>
          <input type="file" accept={accept} multiple disabled={busy} data-testid={`${inputsId}-file-input`} onChange={chosen} />
          <span>{fileButton}</span>
        </label>
        {buttons}
      </div>
      {children}
    </section>
  );
}
