/**
 * The benchmark pages: the app's Vite config (WGSL as text) with bench/browser as its root. index.html times kernels
 * against peers; step.html times training steps on the app's own data (public/: the scenes and the tokenizer).
 */
import { fileURLToPath } from 'node:url';
import { defineConfig, mergeConfig } from 'vite';
import app from '../vite.config.ts';

const page = (file: string) => fileURLToPath(new URL(`./browser/${file}`, import.meta.url));

export default mergeConfig(
  app,
  defineConfig({
    root: page(''),
    base: './',
    publicDir: fileURLToPath(new URL('../public/', import.meta.url)),
    build: { outDir: 'dist', emptyOutDir: true, rolldownOptions: { input: { kernels: page('index.html'), step: page('step.html') } } },
  }),
);
