import { describe, expect, it } from 'vitest';
import { parseClassNames } from './classNames.ts';

describe('class names of a zero-shot task', () => {
  it('are trimmed, in order, blank entries dropped', () => {
    expect(parseClassNames(' cat, dog,tabby cat,')).toEqual(['cat', 'dog', 'tabby cat']);
    expect(parseClassNames('road,,car')).toEqual(['road', 'car']);
  });

  it('are at least two, each given once', () => {
    expect(() => parseClassNames('cat')).toThrow('Give at least two class names, separated by commas ("cat" has 1).');
    expect(() => parseClassNames(' , ')).toThrow('has 0');
    expect(() => parseClassNames('cat, dog, cat')).toThrow('"cat" is named twice: give each class once.');
  });
});
