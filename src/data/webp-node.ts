/**
 * WebP decoding for Node (the CLI and tests; the page has the browser's decoder): libwebp's WebPDecodeRGBA,
 * compiled to WebAssembly by Squoosh and published as @jsquash/webp. Lossy (with fancy chroma upsampling, libwebp's
 * default) and lossless, with or without alpha: the RGBA Pillow's libwebp gives, byte for byte
 * (src/data/webp.test.ts). Node only: the page never imports this file, so the wasm stays out of its bundle.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import webpDecoderFactory, { type WebPModule } from '@jsquash/webp/codec/dec/webp_dec.js';

let decoder: Promise<WebPModule> | undefined;

/** The decoder, compiled once from the package's wasm file (Emscripten's web build cannot read files in Node). */
function webpDecoder(): Promise<WebPModule> {
  decoder ??= (async () => {
    const wasm = await readFile(createRequire(import.meta.url).resolve('@jsquash/webp/codec/dec/webp_dec.wasm'));
    const compiled = await WebAssembly.compile(wasm);
    return webpDecoderFactory({
      noInitialRun: true,
      instantiateWasm: (imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) => {
        const instance = new WebAssembly.Instance(compiled, imports);
        receive(instance);
        return instance.exports;
      },
    });
  })();
  return decoder;
}

/** A WebP's RGBA pixels (straight alpha), or null when libwebp cannot decode the bytes. */
export async function decodeWebpRgba(bytes: Uint8Array): Promise<{ width: number; height: number; data: Uint8ClampedArray } | null> {
  const image = (await webpDecoder()).decode(new Uint8Array(bytes)); // copied into the wasm heap either way
  return image && { width: image.width, height: image.height, data: image.data };
}
