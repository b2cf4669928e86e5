// Node module hooks: `import src from './x.wgsl'` yields the file's text, as the Vite plugin does in the app.
import { readFile } from 'node:fs/promises';
import { register } from 'node:module';

export async function load(url, context, nextLoad) {
  if (!url.endsWith('.wgsl')) return nextLoad(url, context);
  const text = await readFile(new URL(url), 'utf8');
  return { format: 'module', source: `export default ${JSON.stringify(text)};`, shortCircuit: true };
}

if (!globalThis.__cosmosWgslHooks) {
  globalThis.__cosmosWgslHooks = true;
  register(import.meta.url);
}
