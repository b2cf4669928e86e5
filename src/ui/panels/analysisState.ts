/**
 * What the analysis panels share: the picture being explained (a held-out scene or the user's image), the
 * caption, student or teacher, the class names, CSA, the head shown, whether relevance is shown and from which block. Picking a scene in
 * one panel picks it in all. These settings live in the URL beside the app's own (`scene`, `weights`, `caption`,
 * `classes`, `csa`, `head`, `relevance`, `start`), so a view can be shared.
 */
import { HELD_OUT_COUNT } from '../../data/dataset.ts';
import { errorMessage } from '../../format.ts';
import { create } from 'zustand';
import type { RgbImage } from '../../data/image.ts';
import { type Scene, type SceneIndexFile, type SceneKinds, backgroundOf, heldOutScenes, sceneCaption } from '../../data/scenes.ts';
import type { ImageInput, Weights } from '../../worker/protocol.ts';

export interface HeldOutScene {
  caption: string;
  /** Its objects' names, then its background's: the natural classes to ask zero-shot about. */
  names: string[];
}

/** The settings the panels share, in the URL. */
type Shared = 'source' | 'caption' | 'weights' | 'classes' | 'csa' | 'head' | 'relevance' | 'start';

export type ImageSource = { kind: 'scene'; index: number } | { kind: 'image'; image: RgbImage; name: string };

export interface AnalysisState {
  source: ImageSource;
  /** The caption typed; null means the held-out scene's own caption. */
  caption: string | null;
  weights: Weights;
  /** Comma-separated class names typed; null means the scene's default classes. */
  classes: string | null;
  csa: boolean;
  /** The pooler head shown, or null for the mean over heads. */
  head: number | null;
  /** The Attention panel computes gradient x attention relevance too (a backward pass per text: off by default). */
  relevance: boolean;
  /** The relevance's start block, 1-based as the page counts blocks; null for the last (the recipe's default). */
  start: number | null;
  /** The held-out scenes of the run's data (`scenesKinds`): every emoji, or the teaching set. */
  scenes: HeldOutScene[] | null;
  scenesKinds: SceneKinds | null;
  scenesError: string | null;
  set(patch: Partial<Pick<AnalysisState, Shared>>): void;
  loadScenes(kinds: SceneKinds): Promise<void>;
}

function sceneInfo(scene: Scene): HeldOutScene {
  return { caption: sceneCaption(scene), names: [...scene.objects.map((o) => o.name), backgroundOf(scene).name] };
}

/**
 * The held-out scenes' captions, composed here from the data set's index alone (composing a scene needs only
 * the emoji names; the worker renders the pixels from the same rule).
 */
let sceneIndex: Promise<SceneIndexFile> | null = null;

async function fetchHeldOutScenes(kinds: SceneKinds): Promise<HeldOutScene[]> {
  sceneIndex ??= (async () => {
    const url = new URL(`${import.meta.env.BASE_URL}scenes/emoji.json`, window.location.href);
    const response = await fetch(url);
    if (!response.ok) throw new Error(`The scene list could not be loaded (HTTP ${response.status} for ${url.pathname}).`);
    return (await response.json()) as SceneIndexFile;
  })();
  sceneIndex.catch(() => (sceneIndex = null)); // let a later call try again
  const index = await sceneIndex;
  const namesOnly = { sprite: index.sprite, width: 0, height: 0, rgba: new Uint8Array(0), emoji: index.emoji };
  return heldOutScenes(namesOnly, HELD_OUT_COUNT, kinds).map(sceneInfo);
}

const WEIGHTS: readonly Weights[] = ['student', 'teacher'];

function fromUrl(search: string): Pick<AnalysisState, Shared> {
  const params = new URLSearchParams(search);
  const index = Number(params.get('scene'));
  const head = params.get('head');
  const start = params.get('start');
  const weights = params.get('weights') as Weights | null;
  return {
    source: { kind: 'scene', index: Number.isInteger(index) && index >= 0 && index < HELD_OUT_COUNT ? index : 0 },
    caption: params.get('caption'),
    weights: weights && WEIGHTS.includes(weights) ? weights : 'student',
    classes: params.get('classes'),
    csa: params.get('csa') === '1',
    head: head !== null && /^\d{1,3}$/.test(head) ? Number(head) : null,
    relevance: params.get('relevance') === '1',
    start: start !== null && /^[1-9]\d{0,2}$/.test(start) ? Number(start) : null,
  };
}

/** Writes this state's keys into the address, keeping every other parameter as it is. */
function toUrl(state: AnalysisState): void {
  const url = new URL(window.location.href);
  const params = url.searchParams;
  const put = (key: string, value: string | null) => (value === null ? params.delete(key) : params.set(key, value));
  put('scene', state.source.kind === 'scene' && state.source.index !== 0 ? String(state.source.index) : null);
  put('weights', state.weights === 'student' ? null : state.weights);
  put('caption', state.caption);
  put('classes', state.classes);
  put('csa', state.csa ? '1' : null);
  put('head', state.head === null ? null : String(state.head));
  put('relevance', state.relevance ? '1' : null);
  put('start', state.start === null ? null : String(state.start));
  window.history.replaceState(window.history.state, '', url);
}

export const useAnalysisState = create<AnalysisState>()((set, get) => ({
  ...fromUrl(typeof window === 'undefined' ? '' : window.location.search),
  scenes: null,
  scenesKinds: null,
  scenesError: null,
  set(patch) {
    set(patch);
    toUrl(get());
  },
  async loadScenes(kinds) {
    if (get().scenesKinds === kinds) return;
    set({ scenesKinds: kinds });
    try {
      const scenes = await fetchHeldOutScenes(kinds);
      if (get().scenesKinds === kinds) set({ scenes, scenesError: null });
    } catch (error) {
      set({ scenesError: errorMessage(error) });
    }
  },
}));

/** The worker's form of the picture. */
export const imageInput = (source: ImageSource): ImageInput =>
  source.kind === 'scene' ? { kind: 'scene', index: source.index } : { kind: 'image', image: source.image };

/** The caption to explain: the one typed, else the held-out scene's own. */
export function effectiveCaption(state: Pick<AnalysisState, 'source' | 'caption' | 'scenes'>): string {
  if (state.caption !== null) return state.caption;
  return state.source.kind === 'scene' ? (state.scenes?.[state.source.index]?.caption ?? '') : '';
}

/** The classes to ask about: those typed, else the scene's objects and background and a stranger from the next scene. */
export function effectiveClasses(state: Pick<AnalysisState, 'source' | 'classes' | 'scenes'>): string {
  if (state.classes !== null) return state.classes;
  const scenes = state.scenes;
  if (!scenes) return '';
  const index = state.source.kind === 'scene' ? state.source.index : 0;
  const own = scenes[index]!.names;
  const stranger = scenes[(index + 1) % scenes.length]!.names.find((name) => !own.includes(name));
  return [...own, ...(stranger ? [stranger] : [])].join(', ');
}
