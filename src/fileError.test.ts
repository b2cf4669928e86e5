import { describe, expect, it } from 'vitest';
import { FileError } from './fileError.ts';

describe('FileError', () => {
  it('keeps its sentence on one line when it quotes a hostile name (line breaks and control characters shown as "?")', () => {
    const error = new FileError('model.pt', 'model.pt: the zip lists entry a\nb\r\u0000c\u2028 twice');
    expect(error.message).toBe('model.pt: the zip lists entry a?b??c? twice');
    expect(error.file).toBe('model.pt');
  });
});
