import { useState } from 'react';
import type { SavedCheckpoint } from '../../worker/protocol.ts';
import { formatBytes } from '../../format.ts';

export type SavedAction = 'load' | 'download' | 'delete';

/**
 * The checkpoints saved in this browser, each with Load (as the model, with the weights chosen above), Download and
 * Delete. Delete asks once more in place: a saved run cannot be had back.
 */
export function SavedCheckpointsTable({
  saved,
  disabled,
  onAction,
}: {
  saved: SavedCheckpoint[];
  disabled: boolean;
  onAction(action: SavedAction, name: string): void;
}) {
  const [confirming, setConfirming] = useState<string | null>(null);
  return (
    <table className="checkpoint-table" data-testid="checkpoint-list">
      <thead>
        <tr>
          <th>Name</th>
          <th>Size</th>
          <th>Saved</th>
          <th>
            <span className="sr-only">Actions</span>
          </th>
        </tr>
      </thead>
      <tbody>
        {saved.map((c) => (
          <tr key={c.name} data-testid="saved-checkpoint" data-name={c.name}>
            <td>{c.name}</td>
            <td>{formatBytes(c.size)}</td>
            <td>{new Date(c.modified).toLocaleString()}</td>
            <td className="row-actions">
              <button type="button" disabled={disabled} data-testid="saved-load" onClick={() => onAction('load', c.name)}>
                Load
              </button>
              <button type="button" disabled={disabled} data-testid="saved-download" onClick={() => onAction('download', c.name)}>
                Download
              </button>
              {confirming === c.name ? (
                <button
                  type="button"
                  className="danger"
                  disabled={disabled}
                  data-testid="saved-delete-confirm"
                  onClick={() => {
                    setConfirming(null);
                    onAction('delete', c.name);
                  }}
                  onBlur={() => setConfirming(null)}
                >
                  Delete for good
                </button>
              ) : (
                <button type="button" disabled={disabled} data-testid="saved-delete" onClick={() => setConfirming(c.name)}>
                  Delete
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
