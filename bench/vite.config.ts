/** The benchmark page: the app's Vite config (WGSL as text) with bench/browser as its root. */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vite';
import app from '../vite.config.ts';

export default mergeConfig(
  app,
  defineConfig({
    root: fileURLToPath(new URL('./browser/', import.meta.url)),
    base: './',
    build: { outDir: 'dist', emptyOutDir: true },
  }),
);
