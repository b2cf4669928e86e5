/**
 * The trained demo models that ship with the app (public/models/: demo.json, and for each model its weights as
 * .safetensors and its OpenCLIP config): fetched and built on request, kept once built, for "Explore a trained
 * model" and the CLIP vs COSMOS view.
 */
import { blobSource } from '../checkpoint/byteSource.ts';
import { loadCheckpoint } from '../checkpoint/loadCheckpoint.ts';
import { fromOpenClipConfig, type OpenClipModelConfig } from '../cosmos/config.ts';
import { modelFromCheckpoint } from '../cosmos/load.ts';
import type { ClipModel } from '../cosmos/model.ts';
import type { ResolvedConfig } from '../cosmos/modelSource.ts';
import type { DemoManifest, DemoName } from './protocol.ts';

const base = () => new URL(`${import.meta.env.BASE_URL}models/`, self.location.href);

async function fetchOk(file: string): Promise<Response> {
  const url = new URL(file, base());
  const response = await fetch(url);
  if (!response.ok) throw new Error(`The demo model file ${url.pathname} could not be loaded (HTTP ${response.status}).`);
  return response;
}

let manifest: Promise<DemoManifest> | null = null;

export function demoManifest(): Promise<DemoManifest> {
  manifest ??= fetchOk('demo.json').then((r) => r.json() as Promise<DemoManifest>);
  manifest.catch(() => (manifest = null)); // let a later call try again
  return manifest;
}

/** The demo model's weights as a File (to build a run from, as a loaded checkpoint is) and its architecture. */
export async function demoFiles(which: DemoName): Promise<{ file: File; config: ResolvedConfig }> {
  const card = (await demoManifest()).models[which];
  const [weights, json] = await Promise.all([fetchOk(card.weights).then((r) => r.blob()), fetchOk(card.config).then((r) => r.json())]);
  return { file: new File([weights], card.weights), config: { config: fromOpenClipConfig(json as OpenClipModelConfig), from: card.config } };
}

const built = new Map<DemoName, Promise<ClipModel>>();

/** Forgets the demo models built so far (their device was lost): the next demoModel() builds them on the new one. */
export function forgetDemoModels(): void {
  built.clear();
}

/** The demo model `which` on the GPU, built once and kept (the comparison view asks for both again and again). */
export function demoModel(which: DemoName): Promise<ClipModel> {
  let model = built.get(which);
  if (!model) {
    model = demoFiles(which).then(async ({ file, config }) =>
      modelFromCheckpoint(await loadCheckpoint(blobSource(file, file.name)), { config: config.config }),
    );
    model.catch(() => built.delete(which));
    built.set(which, model);
  }
  return model;
}
