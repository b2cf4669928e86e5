/// <reference types="vitest/config" />
import { defineConfig, type Plugin } from 'vite';
import react from '@vitejs/plugin-react';
import { SWIFTSHADER_ICD } from './src/gpu/vulkanDrivers.ts';

/** WGSL files import as their source text, the same way the Node loader (scripts/wgsl-hooks.mjs) does. */
function wgslAsText(): Plugin {
  return {
    name: 'cosmos-wgsl-as-text',
    transform(code, id) {
      if (!id.endsWith('.wgsl')) return null;
      return { code: `export default ${JSON.stringify(code)};`, map: null };
    },
  };
}

export default defineConfig({
  plugins: [react(), wgslAsText()],
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
  // The engine worker imports WGSL too: its bundle needs the same plugin.
  worker: { format: 'es', plugins: () => [wgslAsText()] },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
    // Every test file opens its own Dawn device on a CPU adapter: two at a time is what 2 cores hold.
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // The unit tests run on SwiftShader, the adapter CI has, even where a faster lavapipe is installed (which Node
    // otherwise prefers, src/gpu/vulkanDrivers.ts); a driver named in VK_ICD_FILENAMES still wins.
    env: { VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES || SWIFTSHADER_ICD },
  },
});
