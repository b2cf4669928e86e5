#!/usr/bin/env node
// `npm test`: checks the system packages the GPU tests need, then format and lint (Biome), type-check, unit tests
// (Dawn in Node; the matmul's again on lavapipe where it is installed) and end-to-end tests (Playwright in Chromium
// with WebGPU), in that order, stopping at the first failure.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHROMIUM } from './chromium.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const env = { ...process.env, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1' };

const APT_PACKAGES = ['chromium', 'libvulkan1'];
const LIBVULKAN = [
  '/usr/lib/x86_64-linux-gnu/libvulkan.so.1',
  '/usr/lib/aarch64-linux-gnu/libvulkan.so.1',
  '/usr/lib64/libvulkan.so.1',
  '/usr/lib/libvulkan.so.1',
];

/** What is missing, as sentences; empty when all is there. */
function missingPrerequisites() {
  const missing = [];
  if (!existsSync(CHROMIUM)) {
    missing.push(`${CHROMIUM} (Debian package chromium): the browser for the end-to-end tests, and the SwiftShader Vulkan driver Dawn uses in Node`);
  }
  if (!LIBVULKAN.some((path) => existsSync(path))) {
    missing.push('libvulkan.so.1 (Debian package libvulkan1): the Vulkan loader that Dawn (npm webgpu) needs');
  }
  return missing;
}

function header(text) {
  console.log(`\n=== cosmos-web test: ${text} ===\n`);
}

function checkPrerequisites() {
  header('prerequisites');
  let missing = missingPrerequisites();
  if (missing.length === 0) {
    console.log('chromium and libvulkan1 are installed.');
    return;
  }
  for (const line of missing) console.log(`missing: ${line}`);
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const hasApt = existsSync('/usr/bin/apt-get');
  if (!isRoot || !hasApt) {
    const command = `sudo apt-get update && sudo apt-get install -y ${APT_PACKAGES.join(' ')}`;
    console.error(
      hasApt
        ? `\nInstall them, then run npm test again:\n\n  ${command}\n`
        : `\nThis machine has no apt-get. On Debian or Ubuntu, install them with:\n\n  ${command}\n` +
            `Elsewhere, install Chromium at ${CHROMIUM} and a Vulkan loader.\n`,
    );
    process.exit(1);
  }
  const install = `apt-get update && apt-get install -y ${APT_PACKAGES.join(' ')}`;
  console.log(`\nrunning as root: ${install}\n`);
  const result = spawnSync('sh', ['-c', install], { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (result.status !== 0) {
    console.error(`\n${install} failed (exit ${result.status ?? result.signal}).`);
    process.exit(result.status || 1);
  }
  missing = missingPrerequisites();
  if (missing.length > 0) {
    for (const line of missing) console.error(`still missing after apt-get: ${line}`);
    process.exit(1);
  }
}

const STAGES = [
  { name: 'format and lint (Biome)', command: ['npx', 'biome', 'check', '--error-on-warnings', '.'] },
  { name: 'type-check', command: ['npx', 'tsc', '--noEmit', '-p', 'tsconfig.json'] },
  { name: 'unit tests (vitest, Dawn in Node)', command: ['npx', 'vitest', 'run'] },
  {
    name: 'matmul tests on lavapipe (8-lane subgroups), where installed',
    command: ['node', '--import', 'tsx', 'scripts/test-lavapipe.ts'],
  },
  { name: 'end-to-end tests (Playwright, Chromium with WebGPU)', command: ['npx', 'playwright', 'test'] },
];

checkPrerequisites();
for (const [i, stage] of STAGES.entries()) {
  header(`[${i + 1}/${STAGES.length}] ${stage.name}: ${stage.command.join(' ')}`);
  const [bin, ...args] = stage.command;
  const result = spawnSync(bin, args, { cwd: root, stdio: 'inherit', env });
  if (result.error) {
    console.error(`\ncosmos-web: could not start ${bin}: ${result.error.message}`);
    process.exit(1);
  }
  if (result.status !== 0) {
    const code = result.status ?? 1;
    console.error(`\ncosmos-web: stage "${stage.name}" failed (${result.signal ? `signal ${result.signal}` : `exit ${code}`}).`);
    process.exit(code || 1);
  }
}
console.log('\ncosmos-web: all test stages passed');
