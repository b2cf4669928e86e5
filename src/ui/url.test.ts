import { describe, expect, it } from 'vitest';
import { DEFAULT_SETTINGS, parseUrl, urlSearch } from './url.ts';

describe('settings in the URL', () => {
  it('reads every setting and the tab, and writes back only what differs from the defaults', () => {
    const search = '?preset=small&mode=clip&scenes=teaching&views=teaching&freeze=1&lr=0.0005&batch=24&steps=300&local=4&momentum=0.995&eval=10&tab=views';
    const state = parseUrl(search);
    expect(state).toEqual({
      settings: {
        preset: 'small',
        mode: 'clip',
        scenes: 'teaching',
        views: 'teaching',
        lr: 0.0005,
        batchSize: 24,
        steps: 300,
        localCount: 4,
        momentum: 0.995,
        evalEvery: 10,
        freezeTowers: true,
      },
      tab: 'views',
    });
    expect(urlSearch(state)).toBe(search);
    expect(urlSearch({ settings: DEFAULT_SETTINGS, tab: 'train' })).toBe('');
    expect(urlSearch(parseUrl('?batch=8&steps=40'))).toBe('?batch=8&steps=40');
  });

  it('ignores values that do not parse or lie out of range', () => {
    const { settings, tab } = parseUrl(
      '?preset=huge&mode=dino&scenes=some&views=gentle&lr=-1&batch=1&steps=2.5&local=x&momentum=2&eval=0&freeze=yes&tab=nowhere',
    );
    expect(settings).toEqual(DEFAULT_SETTINGS);
    expect(tab).toBe('train');
  });

  it("keeps the parameters that are not its own (a panel's)", () => {
    const state = parseUrl('?scene=12&batch=8&head=1');
    expect(urlSearch({ ...state, tab: 'attention' }, '?scene=12&batch=8&head=1')).toBe('?scene=12&batch=8&head=1&tab=attention');
    expect(urlSearch({ settings: DEFAULT_SETTINGS, tab: 'train' }, '?scene=12&batch=8')).toBe('?scene=12');
  });
});
