import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SWIFTSHADER_ICD as SWIFTSHADER, installedDrivers, planDrivers } from './vulkanDrivers.ts';

const MESA_25 = { file: '/usr/share/vulkan/icd.d/lvp_icd.json', apiVersion: '1.4.305' };
const MESA_22 = { file: '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json', apiVersion: '1.1.230' };

const NVIDIA = '/usr/share/vulkan/icd.d/nvidia_icd.json';
const ANY = { flags: [], gpuOnly: false };
const LLVMPIPE = { flags: ['adapter=llvmpipe'], gpuOnly: false };

describe('Vulkan drivers for Dawn in Node', () => {
  it('offers a recent lavapipe first, asking Dawn for llvmpipe, then any adapter, with SwiftShader beside it', () => {
    expect(planDrivers(undefined, { lavapipe: [MESA_22, MESA_25], others: [], swiftshader: SWIFTSHADER })).toEqual({
      icdFiles: `${MESA_25.file}:${SWIFTSHADER}`,
      attempts: [LLVMPIPE, ANY],
    });
  });

  it('asks for a GPU first where a GPU driver is installed, naming it beside the CPU drivers', () => {
    // Naming SwiftShader in VK_ICD_FILENAMES replaces the loader's search: the GPU's driver must be named too.
    expect(planDrivers(undefined, { lavapipe: [MESA_25], others: [NVIDIA], swiftshader: SWIFTSHADER })).toEqual({
      icdFiles: `${NVIDIA}:${MESA_25.file}:${SWIFTSHADER}`,
      attempts: [{ flags: [], gpuOnly: true }, LLVMPIPE, ANY],
    });
    expect(planDrivers(undefined, { lavapipe: [], others: [NVIDIA], swiftshader: SWIFTSHADER })).toEqual({
      icdFiles: `${NVIDIA}:${SWIFTSHADER}`,
      attempts: [{ flags: [], gpuOnly: true }, ANY],
    });
    // No CPU driver to add: the loader's own search, which finds the GPU's driver.
    expect(planDrivers(undefined, { lavapipe: [], others: [NVIDIA], swiftshader: null })).toEqual({ icdFiles: null, attempts: [ANY] });
  });

  it("leaves Debian 12's own lavapipe out (Dawn refuses Mesa 22, and says so on every start): SwiftShader alone", () => {
    expect(planDrivers(undefined, { lavapipe: [MESA_22], others: [], swiftshader: SWIFTSHADER })).toEqual({ icdFiles: SWIFTSHADER, attempts: [ANY] });
  });

  it('leaves VK_ICD_FILENAMES alone when the user set it, and when there is nothing to name', () => {
    expect(planDrivers('/my/icd.json', { lavapipe: [MESA_25], others: [NVIDIA], swiftshader: SWIFTSHADER })).toEqual({ icdFiles: null, attempts: [ANY] });
    expect(planDrivers(undefined, { lavapipe: [], others: [], swiftshader: null })).toEqual({ icdFiles: null, attempts: [ANY] });
  });

  it('finds lavapipe manifests with their Vulkan version and the other drivers, skipping unreadable lavapipe manifests and missing folders', () => {
    const root = mkdtempSync(join(tmpdir(), 'icd-'));
    try {
      const dir = join(root, 'icd.d');
      mkdirSync(dir);
      writeFileSync(join(dir, 'lvp_icd.json'), JSON.stringify({ ICD: { api_version: '1.4.305', library_path: 'libvulkan_lvp.so' } }));
      writeFileSync(join(dir, 'lvp_icd.i686.json'), '{ not json');
      writeFileSync(join(dir, 'radeon_icd.x86_64.json'), JSON.stringify({ ICD: { api_version: '1.4.305' } }));
      writeFileSync(join(dir, 'README.txt'), 'not a manifest');
      const found = installedDrivers([dir, join(root, 'missing')], join(root, 'no-swiftshader.json'));
      expect(found).toEqual({
        lavapipe: [{ file: join(dir, 'lvp_icd.json'), apiVersion: '1.4.305' }],
        others: [join(dir, 'radeon_icd.x86_64.json')],
        swiftshader: null,
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
