import { type MouseEvent, useEffect, useMemo, useRef } from 'react';
import { drawMatrix, prepareCanvas } from './draw.ts';
import { minMaxNormalize } from './normalize.ts';

interface MatrixCanvasProps {
  /** Row-major [rows, cols] raw values; drawn min-max normalized over the whole matrix. */
  values: Float32Array;
  rows: number;
  cols: number;
  size: number;
  /** A row outlined. */
  selectedRow: number | null;
  onSelectRow(row: number): void;
  describe(row: number, col: number): string;
  testId?: string;
}

/** A matrix heatmap on one canvas (one crisp block per cell); click a row to select it. */
export function MatrixCanvas({ values, rows, cols, size, selectedRow, onSelectRow, describe, testId }: MatrixCanvasProps) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const normalized = useMemo(() => minMaxNormalize(values), [values]);

  useEffect(() => {
    const element = canvas.current;
    if (!element) return;
    const context = prepareCanvas(element, size, size);
    drawMatrix(context, normalized.values, rows, cols, { x: 0, y: 0, width: element.width, height: element.height });
    if (selectedRow !== null) {
      const cell = element.height / rows;
      context.strokeStyle = '#ffffff';
      context.lineWidth = Math.max(2, cell / 4);
      context.strokeRect(0, selectedRow * cell, element.width, cell);
    }
  }, [normalized, rows, cols, size, selectedRow]);

  const cellAt = (event: MouseEvent<HTMLCanvasElement>) => {
    const rect = event.currentTarget.getBoundingClientRect();
    const row = Math.min(rows - 1, Math.max(0, Math.floor(((event.clientY - rect.top) / rect.height) * rows)));
    const col = Math.min(cols - 1, Math.max(0, Math.floor(((event.clientX - rect.left) / rect.width) * cols)));
    return { row, col };
  };

  return (
    <canvas
      ref={canvas}
      className="matrix-canvas"
      role="img"
      aria-label={`Similarity matrix, ${rows} by ${cols}`}
      data-testid={testId}
      data-min={normalized.rawMin}
      data-max={normalized.rawMax}
      onClick={(event) => onSelectRow(cellAt(event).row)}
      onMouseMove={(event) => {
        const { row, col } = cellAt(event);
        event.currentTarget.title = describe(row, col);
      }}
    />
  );
}
