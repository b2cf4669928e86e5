/**
 * Old and odd files made by real torch and safetensors (scripts/fixtures/odd_files.py): each is refused in one
 * sentence that names the file and says what it is. fixtures/odd/expected.json holds what torch and safetensors
 * themselves made of them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileError } from '../fileError.ts';
import { bytesSource } from '../testing/bytesSource.ts';
import { loadCheckpoint } from './loadCheckpoint.ts';

const ODD = join(import.meta.dirname, '..', '..', 'fixtures', 'odd');
const expected = JSON.parse(readFileSync(join(ODD, 'expected.json'), 'utf8')) as Record<string, { keys?: string[]; safetensors?: string }>;

/** The refusal loadCheckpoint gives the file, read in full (every tensor). */
async function refusal(name: string): Promise<FileError> {
  try {
    const { tensors } = await loadCheckpoint(bytesSource(new Uint8Array(readFileSync(join(ODD, name))), name));
    for (const t of tensors.values()) await t.read();
  } catch (error) {
    if (error instanceof FileError) return error;
    throw error;
  }
  throw new Error(`${name} was read`);
}

function expectOneSentence(error: FileError, name: string): void {
  expect(error.file).toBe(name);
  expect(error.message.startsWith(name)).toBe(true);
  expect(error.message).not.toContain('\n');
  // One sentence: no full stop before the end.
  expect(error.message.replace(name, '').slice(0, -1)).not.toMatch(/\.\s/);
}

describe('old and odd files', () => {
  it('a pre-1.6 torch.save file (pickled, not a zip) is named as that, with the way to convert it', async () => {
    const error = await refusal('legacy-1.5.pt');
    expectOneSentence(error, 'legacy-1.5.pt');
    expect(error.message).toMatch(/legacy format of torch\.save before PyTorch 1\.6.*torch\.save of PyTorch 1\.6 or later/);
  });

  it("a tar-format torch.save file (PyTorch's first releases; torch 1.13 still reads it back) is named as that", async () => {
    const error = await refusal('legacy-tar.pt');
    expectOneSentence(error, 'legacy-tar.pt');
    expect(error.message).toMatch(/is a tar archive, the checkpoint format of PyTorch's first releases/);
  });

  it("a .pt that holds only an optimizer's state_dict is named as that, not as a model missing keys", async () => {
    expect(expected['optimizer-only.pt']!.keys).toEqual(['param_groups', 'state']);
    const error = await refusal('optimizer-only.pt');
    expectOneSentence(error, 'optimizer-only.pt');
    expect(error.message).toMatch(/holds an optimizer's state .*not a model's weights/);
  });

  it('safetensors files with overlapping or out-of-range offsets are refused, as the safetensors library refuses them', async () => {
    for (const [name, problem] of [
      ['overlapping.safetensors', /overlap/],
      ['out-of-range.safetensors', /tensor c ends at data byte \d+, the data section has \d+/],
    ] as const) {
      expect(expected[name]!.safetensors).toMatch(/invalid offset for tensor `c`/);
      const error = await refusal(name);
      expectOneSentence(error, name);
      expect(error.message).toContain('c');
      expect(error.message).toMatch(problem);
    }
  });
});
